/** Replaced below by the database setup; kept minimal so unit tests can run meanwhile. */
export default async function setup(): Promise<void> {}
