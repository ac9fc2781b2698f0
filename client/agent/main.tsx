import { render } from "preact";
import { App } from "./app.tsx";
import { restoreSession } from "./session.ts";
import "./styles.css";

const root = document.getElementById("app");
if (!root) throw new Error("#app is missing from index.html");
render(<App />, root);
void restoreSession();
