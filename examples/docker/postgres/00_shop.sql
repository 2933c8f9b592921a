-- Run once by the postgres image on first start (docker-entrypoint-initdb.d, through psql):
-- the examples' `shop` database, seeded, and `rivet`, a login that can only read it.
CREATE DATABASE shop;
CREATE ROLE rivet LOGIN PASSWORD 'rivet';
\connect shop
\i /seed/postgres.sql
GRANT SELECT ON ALL TABLES IN SCHEMA public TO rivet;
