-- The source table of the worked example (examples/orders-cdc): run once against NAPKIN_PG_URL.
create table if not exists public.orders (
  id bigint primary key,
  region text not null,
  amount numeric(12, 2) not null,
  placed_at timestamptz not null default now()
);
-- Deletes then carry the whole row, which the contract's required fields need (napkin check says so otherwise).
alter table public.orders replica identity full;
