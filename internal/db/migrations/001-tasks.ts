// The jobserver's tasks (prior art's fields, plus the lease that keeps a task from running twice
// or staying `running` after its jobserver died).
export default `
create table tasks (
  task_id uuid primary key,
  task_name text not null,
  task_for text not null,
  data jsonb not null default '{}',
  output jsonb,
  statuses jsonb not null default '[]',
  state text not null default 'pending' check (state in ('pending', 'running', 'completed', 'failed', 'cancelled')),
  execute boolean not null default true,
  expiry timestamptz,
  checkpoint jsonb not null default '{}',
  attempts integer not null default 0,
  locked_by text,
  locked_until timestamptz,
  created_at timestamptz not null default now(),
  last_updated timestamptz not null default now()
);
create index tasks_claimable on tasks (created_at) where state in ('pending', 'running');
create index tasks_for on tasks (task_for, created_at desc);
`;
