-- read_parquet('file') in both engines over the same files the tables
-- were loaded from.
SELECT count(*) AS c FROM read_parquet('@DATA@/t.parquet');
SELECT * FROM read_parquet('@DATA@/u.parquet');
SELECT k, count(*) AS c, sum(n) AS s FROM read_parquet('@DATA@/t.parquet') GROUP BY k;
SELECT g, avg(x) AS a, min(d) AS md FROM read_parquet('@DATA@/t.parquet') WHERE b GROUP BY g;
-- ordered
SELECT id, s FROM read_parquet('@DATA@/t.parquet') WHERE s LIKE '%a%' ORDER BY id LIMIT 10;
SELECT p.id, u.label FROM read_parquet('@DATA@/t.parquet') p JOIN u ON p.k = u.k WHERE p.id < 40;
SELECT p.id, q.label FROM read_parquet('@DATA@/t.parquet') p LEFT JOIN read_parquet('@DATA@/u.parquet') q ON p.k = q.k WHERE p.id > 200;
SELECT count(*) AS c FROM read_parquet('@DATA@/e.parquet');
SELECT * FROM read_parquet('@DATA@/x.parquet') WHERE id < 4;
SELECT * FROM read_parquet('@DATA@/hist_v2.parquet');
SELECT a.id FROM read_parquet('@DATA@/hist_v1.parquet') a JOIN hist b ON a.id = b.id;
WITH p AS (SELECT * FROM read_parquet('@DATA@/t.parquet')) SELECT count(*) AS c FROM p JOIN t ON p.id = t.id AND p.n = t.n;
SELECT DISTINCT g FROM read_parquet('@DATA@/t.parquet');
SELECT extract(year FROM d) AS y, count(*) AS c FROM read_parquet('@DATA@/t.parquet') GROUP BY extract(year FROM d);
SELECT sum(m) AS sm, count(DISTINCT m) AS dm FROM read_parquet('@DATA@/t.parquet');
-- expect: error
SELECT * FROM read_parquet('@DATA@/no_such_file.parquet');
