// A case written after the database came back carries the id it was queued under (in Redis), so a
// queue entry written twice (its writer died before removing it, or two clusters drained it at
// once) still makes one case.
export default `
alter table cases add column pending_id text unique;
`;
