-- ORDER BY (ASC/DESC, NULLS FIRST/LAST), LIMIT and OFFSET. Every ordered
-- query's order is total (ties broken by id) unless it is compared as a set.
-- ordered
SELECT id, n FROM t ORDER BY n ASC NULLS FIRST, id;
-- ordered
SELECT id, n FROM t ORDER BY n ASC NULLS LAST, id;
-- ordered
SELECT id, n FROM t ORDER BY n DESC NULLS FIRST, id;
-- ordered
SELECT id, n FROM t ORDER BY n DESC NULLS LAST, id DESC;
-- ordered
SELECT id, k FROM t ORDER BY k, id;
-- ordered
SELECT id, k FROM t ORDER BY k DESC, id;
-- ordered
SELECT id, x FROM t ORDER BY x NULLS FIRST, id;
-- ordered
SELECT id, g FROM t ORDER BY g NULLS LAST, id;
-- ordered
SELECT id, s FROM t ORDER BY s DESC NULLS LAST, id;
-- ordered
SELECT id, d FROM t ORDER BY d NULLS FIRST, id;
-- ordered
SELECT id, ts FROM t ORDER BY ts DESC NULLS FIRST, id;
-- ordered
SELECT id, m FROM t ORDER BY m NULLS LAST, id;
-- ordered
SELECT id, b FROM t ORDER BY b NULLS FIRST, id;
-- ordered
SELECT id FROM t ORDER BY id DESC;
-- ordered
SELECT id FROM t ORDER BY id LIMIT 10;
-- ordered
SELECT id FROM t ORDER BY id DESC LIMIT 5;
-- ordered
SELECT id FROM t ORDER BY id LIMIT 10 OFFSET 5;
-- ordered
SELECT id FROM t ORDER BY id OFFSET 235;
-- ordered
SELECT id FROM t ORDER BY id LIMIT 5 OFFSET 1000;
-- ordered
SELECT id FROM t ORDER BY id LIMIT 0;
-- ordered
SELECT id, n FROM t ORDER BY n DESC NULLS LAST, id LIMIT 7;
-- ordered
SELECT id, x FROM t WHERE x IS NOT NULL ORDER BY x, id LIMIT 12 OFFSET 3;
-- ordered
SELECT id, n * -1 AS neg FROM t ORDER BY neg, id LIMIT 20;
-- ordered
SELECT id, k, n FROM t ORDER BY k NULLS FIRST, n DESC NULLS LAST, id;
-- ordered
SELECT id FROM t ORDER BY k * 10 + id % 10 NULLS LAST, id;
-- ordered
SELECT k, count(*) AS c FROM t GROUP BY k ORDER BY k NULLS FIRST;
-- ordered
SELECT k, count(*) AS c FROM t GROUP BY k ORDER BY c DESC, k NULLS LAST;
-- ordered
SELECT g, sum(n) AS s FROM t GROUP BY g ORDER BY s NULLS FIRST, g;
-- ordered
SELECT g, sum(n) AS s FROM t GROUP BY g ORDER BY 2 DESC NULLS LAST, 1 NULLS LAST;
-- ordered
SELECT k, max(x) AS mx FROM t GROUP BY k ORDER BY max(x) DESC, k NULLS LAST LIMIT 3;
-- ordered
SELECT id, s FROM t ORDER BY length(s) DESC NULLS LAST, id LIMIT 10;
-- ordered
SELECT id, n FROM t ORDER BY n, id;
-- ordered
SELECT id, n FROM t ORDER BY n DESC, id;
SELECT id FROM t LIMIT 1000;
SELECT count(*) AS c FROM (SELECT id FROM t LIMIT 17) q;
-- ordered
SELECT 1 AS a UNION ALL SELECT 2 AS a ORDER BY a DESC;
-- ordered
SELECT id FROM t WHERE k = 4 ORDER BY id LIMIT 3 OFFSET 2;
