-- Sample data for the examples in examples/*.yaml: a small shop (MySQL 8 and MariaDB).
--
-- Plain SQL in the current database, so it can seed any database: docker compose runs it in the
-- `shop` database (examples/docker/mysql/00_shop.sql), the tests in a scratch database.
-- Times are UTC (DATETIME holds no time zone; rivet's sessions run in UTC).
--
--   users   500 rows    updated_at spread over 2024
--   orders  5000 rows   ids 1..5000, updated_at with ties
--   events  4320 rows   one every 10 minutes over the 30 days before the seed ran

-- 0..9999, for generating rows without recursive CTEs (dropped at the end).
CREATE TABLE seed_numbers (n INT NOT NULL PRIMARY KEY);
INSERT INTO seed_numbers (n)
SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d
FROM (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
      UNION ALL SELECT 9) AS a
CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
      UNION ALL SELECT 9) AS b
CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
      UNION ALL SELECT 9) AS c
CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8
      UNION ALL SELECT 9) AS e;

CREATE TABLE users (
  id BIGINT NOT NULL PRIMARY KEY,
  email VARCHAR(255) NOT NULL UNIQUE,
  full_name VARCHAR(255) NOT NULL,
  country CHAR(2) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

INSERT INTO users (id, email, full_name, country, created_at, updated_at)
SELECT n,
       CONCAT('user', n, '@example.com'),
       CONCAT('User ', n),
       ELT(1 + n % 5, 'DE', 'FR', 'US', 'JP', 'BR'),
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (n * 7) HOUR,
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (n * 7) HOUR + INTERVAL (n % 30) DAY
FROM seed_numbers
WHERE n BETWEEN 1 AND 500;

CREATE TABLE orders (
  id BIGINT NOT NULL PRIMARY KEY,
  user_id BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  total DECIMAL(12, 2) NOT NULL,
  ordered_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY orders_updated_at_id (updated_at, id),
  CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Ten orders share each updated_at: a cursor alone is not unique, (updated_at, id) is.
INSERT INTO orders (id, user_id, status, total, ordered_at, updated_at)
SELECT n,
       1 + n % 500,
       ELT(1 + n % 4, 'new', 'paid', 'shipped', 'cancelled'),
       ROUND((n % 997) * 1.37 + 5, 2),
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (n * 90) MINUTE,
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (FLOOR(n / 10) * 15) HOUR
FROM seed_numbers
WHERE n BETWEEN 1 AND 5000;

CREATE TABLE events (
  id BIGINT NOT NULL PRIMARY KEY,
  user_id BIGINT NOT NULL,
  kind VARCHAR(32) NOT NULL,
  occurred_at DATETIME(6) NOT NULL,
  payload JSON,
  KEY events_occurred_at (occurred_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

INSERT INTO events (id, user_id, kind, occurred_at, payload)
SELECT n,
       1 + n % 500,
       ELT(1 + n % 3, 'page_view', 'add_to_cart', 'checkout'),
       UTC_TIMESTAMP(6) - INTERVAL (n * 10) MINUTE,
       JSON_OBJECT('page', CONCAT('/products/', n % 50))
FROM seed_numbers
WHERE n BETWEEN 1 AND 4320;

DROP TABLE seed_numbers;
