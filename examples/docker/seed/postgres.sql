-- Sample data for the examples in examples/*.yaml: a small shop (PostgreSQL).
--
-- Plain SQL in the current schema, so it can seed any database: docker compose runs it in the
-- `shop` database (examples/docker/postgres/00_shop.sql), the tests in a scratch schema.
--
--   users   500 rows    updated_at spread over 2024
--   orders  5000 rows   ids 1..5000, updated_at with ties (for keyset paging's tie-breaker)
--   events  4320 rows   one every 10 minutes over the 30 days before the seed ran

CREATE TABLE users (
  id bigint PRIMARY KEY,
  email text NOT NULL UNIQUE,
  full_name text NOT NULL,
  country char(2) NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

INSERT INTO users (id, email, full_name, country, created_at, updated_at)
SELECT i,
       'user' || i || '@example.com',
       'User ' || i,
       (ARRAY['DE', 'FR', 'US', 'JP', 'BR'])[1 + i % 5],
       timestamptz '2024-01-01 00:00:00+00' + i * interval '7 hours',
       timestamptz '2024-01-01 00:00:00+00' + i * interval '7 hours' + (i % 30) * interval '1 day'
FROM generate_series(1, 500) AS i;

CREATE TABLE orders (
  id bigint PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  status text NOT NULL,
  total numeric(12, 2) NOT NULL,
  ordered_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX orders_updated_at_id ON orders (updated_at, id);

-- Ten orders share each updated_at: a cursor alone is not unique, (updated_at, id) is.
INSERT INTO orders (id, user_id, status, total, ordered_at, updated_at)
SELECT i,
       1 + i % 500,
       (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + i % 4],
       round((i % 997) * 1.37 + 5, 2),
       timestamptz '2024-01-01 00:00:00+00' + i * interval '90 minutes',
       timestamptz '2024-01-01 00:00:00+00' + (i / 10) * interval '15 hours'
FROM generate_series(1, 5000) AS i;

CREATE TABLE events (
  id bigint PRIMARY KEY,
  user_id bigint NOT NULL,
  kind text NOT NULL,
  occurred_at timestamptz NOT NULL,
  payload jsonb
);
CREATE INDEX events_occurred_at ON events (occurred_at);

INSERT INTO events (id, user_id, kind, occurred_at, payload)
SELECT i,
       1 + i % 500,
       (ARRAY['page_view', 'add_to_cart', 'checkout'])[1 + i % 3],
       now() - i * interval '10 minutes',
       jsonb_build_object('page', '/products/' || (i % 50))
FROM generate_series(1, 4320) AS i;
