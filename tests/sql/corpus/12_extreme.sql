-- Extreme values (table x): INT64 min/max, huge and tiny doubles, a 10,000
-- character string, unicode, control characters, dates far apart.
SELECT * FROM x;
SELECT id, big FROM x WHERE big > 0;
SELECT id, big FROM x WHERE big < -9223372036854775806;
SELECT min(big) AS mi, max(big) AS ma, count(big) AS c FROM x;
SELECT id, big - 1 AS b FROM x WHERE big > 0 AND big < 9223372036854775807;
SELECT id, big + 1 AS b FROM x WHERE big < 0;
SELECT id, big / 2 AS half FROM x WHERE big IS NOT NULL;
SELECT id, big % 1000 AS r FROM x WHERE big IS NOT NULL;
SELECT id, -big AS nb FROM x WHERE big > -9223372036854775808;
SELECT id, dbl FROM x WHERE dbl > 1e299;
SELECT id, dbl FROM x WHERE dbl > 0 AND dbl < 1e-299;
SELECT min(dbl) AS mi, max(dbl) AS ma FROM x;
SELECT id, dbl * 0.5 AS d2 FROM x;
SELECT id, dbl / 1e300 AS scaled FROM x WHERE dbl IS NOT NULL;
SELECT id, dbl * 1e10 AS grown FROM x WHERE id IN (3, 4, 6);
SELECT id, length(str) AS l FROM x;
SELECT id, substr(str, 9995, 10) AS tail FROM x WHERE id = 1;
SELECT id, upper(substr(str, 1, 12)) AS head FROM x;
SELECT count(DISTINCT str) AS c FROM x;
SELECT id, str FROM x WHERE str LIKE '%😀%' OR str LIKE 'Ω%';
SELECT id, dt, ts FROM x;
SELECT min(dt) AS a, max(dt) AS b, min(ts) AS c, max(ts) AS e FROM x;
SELECT id, extract(year FROM dt) AS y FROM x;
SELECT id, dt + INTERVAL '1' DAY AS next_day FROM x WHERE dt < DATE '9999-01-01';
SELECT id FROM x WHERE dt < DATE '1970-01-01';
SELECT id, ts FROM x WHERE ts < TIMESTAMP '1970-01-01 00:00:00';
-- ordered
SELECT id, big FROM x ORDER BY big NULLS FIRST;
-- ordered
SELECT id, dbl FROM x ORDER BY dbl DESC NULLS LAST;
-- ordered
SELECT id, dt FROM x ORDER BY dt NULLS LAST;
-- ordered
SELECT id, length(str) AS l FROM x ORDER BY str NULLS FIRST;
SELECT id, i32 FROM x WHERE i32 = 2147483647 OR i32 = -2147483648;
SELECT id, CAST(i32 AS BIGINT) + 1 AS wide FROM x;
SELECT sum(i32) AS s FROM x;
SELECT id, big = 9223372036854775807 AS is_max FROM x;
SELECT big, count(*) AS c FROM x GROUP BY big;
SELECT dbl, count(*) AS c FROM x GROUP BY dbl;
SELECT id, CAST(big AS DOUBLE) AS bd FROM x;
SELECT id, CAST(big AS VARCHAR) AS bs FROM x;
