-- Run once by the mysql image on first start (docker-entrypoint-initdb.d, through the mysql
-- client): the examples' `shop` database, seeded, and `rivet`, a login that can only read it.
CREATE DATABASE shop CHARACTER SET utf8mb4;
CREATE USER 'rivet'@'%' IDENTIFIED BY 'rivet';
GRANT SELECT ON shop.* TO 'rivet'@'%';
USE shop;
SET time_zone = '+00:00';
SOURCE /seed/mysql.sql;
