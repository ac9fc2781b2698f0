/** Thrown to writers while their account is being moved between shards; they keep their changes and retry. */
export class AccountMovingError extends Error {}
