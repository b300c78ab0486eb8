-- The empty table e: aggregates still give one row; groups give none.
SELECT * FROM e;
SELECT count(*) AS c FROM e;
SELECT count(*) AS c, count(k) AS ck, sum(n) AS s, min(x) AS mi, max(s) AS ma, avg(n) AS av FROM e;
SELECT count(DISTINCT k) AS dk FROM e;
SELECT k, count(*) AS c FROM e GROUP BY k;
SELECT k, sum(n) AS s FROM e GROUP BY k HAVING count(*) > 0;
SELECT DISTINCT g FROM e;
-- ordered
SELECT id FROM e ORDER BY id LIMIT 5;
SELECT e.id, u.label FROM e JOIN u ON e.k = u.k;
SELECT e.id, u.label FROM e LEFT JOIN u ON e.k = u.k;
SELECT u.label, e.id FROM u LEFT JOIN e ON e.k = u.k;
SELECT count(*) AS c FROM (SELECT * FROM e) q;
WITH w AS (SELECT * FROM e) SELECT sum(x) AS sx FROM w;
SELECT min(d) AS a, max(ts) AS b FROM e;
SELECT count(*) AS c, sum(n) AS s FROM t WHERE n > 100000;
SELECT max(id) AS m FROM t WHERE FALSE;
