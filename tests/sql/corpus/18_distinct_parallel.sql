-- DISTINCT aggregates in the partial/final split, on two threads: tm and
-- lm are t and li spread over several files (one morsel each), li_rg.parquet
-- is li in row groups of 2048 rows; the workers see the same values, which
-- must count once. Mixed with ordinary aggregates, GROUP BY, HAVING, ORDER BY.
SET threads = 2; SELECT k, count(DISTINCT g), count(*) FROM tm GROUP BY k;
SET threads = 2; SELECT count(DISTINCT k), count(DISTINCT g), count(DISTINCT s), count(DISTINCT x), count(DISTINCT d) FROM tm;
SET threads = 2; SELECT count(DISTINCT ts), count(DISTINCT b), count(DISTINCT m), count(DISTINCT n) FROM tm;
SET threads = 2; SELECT g, sum(DISTINCT n), avg(DISTINCT n), sum(DISTINCT x), avg(DISTINCT x) FROM tm GROUP BY g;
SET threads = 2; SELECT g, sum(DISTINCT m), avg(DISTINCT m), count(DISTINCT m) FROM tm GROUP BY g;
SET threads = 2; SELECT g, count(DISTINCT k), sum(n), min(s), max(d), avg(x), count(*), count(x) FROM tm GROUP BY g;
SET threads = 2; SELECT k, b, count(DISTINCT g), sum(DISTINCT k), max(m) FROM tm GROUP BY k, b;
SET threads = 2; SELECT k, count(DISTINCT s) FROM tm WHERE n > 0 GROUP BY k;
SET threads = 2; SELECT g, count(DISTINCT k) AS ck FROM tm GROUP BY g HAVING count(DISTINCT k) > 3;
-- ordered
SET threads = 2; SELECT g, count(DISTINCT s) AS c, sum(DISTINCT k) AS sk FROM tm GROUP BY g ORDER BY c DESC, g NULLS FIRST LIMIT 4;
SET threads = 2; SELECT count(DISTINCT ti), sum(DISTINCT sm), avg(DISTINCT ti), count(DISTINCT r), sum(DISTINCT r) FROM tm;
SET threads = 2; SELECT count(DISTINCT k % 3), sum(DISTINCT n * 2), count(DISTINCT lower(g)), count(DISTINCT d + 1) FROM tm;
SET threads = 2; SELECT b, count(DISTINCT k), avg(DISTINCT k), sum(DISTINCT k) FROM tm WHERE k IS NOT NULL GROUP BY b;
SET threads = 2; SELECT g, c FROM (SELECT g, count(DISTINCT k) AS c FROM tm GROUP BY g) q WHERE c > 2;
SET threads = 2; SELECT count(DISTINCT k) AS c FROM tm GROUP BY g;
SET threads = 2; SELECT DISTINCT count(DISTINCT k) AS c FROM tm GROUP BY g;
SET threads = 2; SELECT count(DISTINCT k), sum(DISTINCT n), avg(DISTINCT x) FROM tm WHERE id < 0;
SET threads = 2; SELECT k, count(DISTINCT g) FROM tm WHERE id < 0 GROUP BY k;
SET threads = 2; SELECT u.label, count(DISTINCT tm.g), count(*) FROM tm JOIN u ON tm.k = u.k GROUP BY u.label;
SET threads = 2; SELECT count(DISTINCT k), count(*) FROM (SELECT * FROM tm UNION ALL SELECT * FROM tm) q;
SET threads = 2; SELECT l_returnflag, l_linestatus, count(DISTINCT l_orderkey), count(DISTINCT l_quantity), sum(DISTINCT l_quantity), avg(DISTINCT l_discount), count(*), sum(l_extendedprice) FROM lm GROUP BY 1, 2;
SET threads = 2; SELECT count(DISTINCT l_orderkey), count(DISTINCT l_shipdate) FROM lm WHERE l_shipdate < DATE '1995-01-01';
SET threads = 2; SELECT l_shipdate, count(DISTINCT l_returnflag) FROM lm GROUP BY l_shipdate HAVING count(DISTINCT l_linestatus) > 1;
SET threads = 2; SELECT l_returnflag, count(DISTINCT l_shipdate), avg(DISTINCT l_tax), sum(DISTINCT l_tax), min(l_discount) FROM read_parquet('@DATA@/li_rg.parquet') GROUP BY 1;
SET threads = 2; SELECT count(DISTINCT l_orderkey), count(DISTINCT l_returnflag || l_linestatus), sum(DISTINCT l_quantity), count(*) FROM read_parquet('@DATA@/li_rg.parquet');
-- ordered
SET threads = 2; SELECT l_quantity, count(DISTINCT l_orderkey) AS c, count(*) AS n FROM read_parquet('@DATA@/li_rg.parquet') WHERE l_discount > 0.05 GROUP BY l_quantity ORDER BY c DESC, l_quantity LIMIT 5;
SET threads = 2; SELECT extract(year FROM l_shipdate) AS y, count(DISTINCT l_orderkey), avg(DISTINCT l_extendedprice) FROM read_parquet('@DATA@/li_rg.parquet') GROUP BY 1;
SET threads = 1; SELECT g, count(DISTINCT k), sum(DISTINCT n) FROM tm GROUP BY g;
