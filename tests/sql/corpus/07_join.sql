-- Inner and left equi-joins: duplicate keys on both sides, NULL keys never
-- match, keys present on one side only.
SELECT t.id, u.label FROM t JOIN u ON t.k = u.k;
SELECT t.id, u.label FROM t INNER JOIN u ON t.k = u.k;
SELECT t.id, t.k, u.label, u.w FROM t LEFT JOIN u ON t.k = u.k;
SELECT t.id, u.label FROM t LEFT OUTER JOIN u ON t.k = u.k WHERE u.label IS NULL;
SELECT u.k, u.label, t.id FROM u LEFT JOIN t ON u.k = t.k;
SELECT u.label, count(t.id) AS c FROM u LEFT JOIN t ON u.k = t.k GROUP BY u.label;
SELECT u.k, count(*) AS c FROM u JOIN t ON t.k = u.k GROUP BY u.k;
SELECT t.k, sum(u.w) AS sw, count(*) AS c FROM t JOIN u ON t.k = u.k GROUP BY t.k;
SELECT a.id, b.id AS id2 FROM t a JOIN t b ON a.id = b.id;
SELECT a.id, b.id AS id2 FROM t a JOIN t b ON a.k = b.k WHERE a.id < 20 AND b.id < 20;
SELECT count(*) AS c FROM t a JOIN t b ON a.k = b.k;
SELECT count(*) AS c FROM t a JOIN t b ON a.g = b.g;
SELECT a.id, b.label FROM t a JOIN u b ON a.k = b.k AND b.w > 2;
SELECT t.id, u.label FROM t JOIN u ON t.k = u.k WHERE t.n > 100 AND u.label <> 'one';
SELECT t.id, u.label FROM t LEFT JOIN u ON t.k = u.k AND u.w > 5;
SELECT t.id, u.label FROM t JOIN u ON u.k = t.k + 1;
SELECT t.id, x2.id AS xid FROM t JOIN x x2 ON t.id = x2.id;
SELECT t.id, e.id AS eid FROM t LEFT JOIN e ON t.id = e.id WHERE t.id < 10;
SELECT t.id FROM t JOIN e ON t.id = e.id;
SELECT t.id, u.label, v.label AS label2 FROM t JOIN u ON t.k = u.k JOIN u v ON v.k = u.k WHERE t.id < 30;
SELECT t.id, u.label, h.name FROM t LEFT JOIN u ON t.k = u.k LEFT JOIN hist h ON h.id = t.id WHERE t.id <= 15;
SELECT u.label, t.g, count(*) AS c FROM t JOIN u ON t.k = u.k GROUP BY u.label, t.g HAVING count(*) > 3;
-- ordered
SELECT t.id, u.label FROM t JOIN u ON t.k = u.k ORDER BY t.id, u.label LIMIT 15;
SELECT t.id, u.label FROM t, u WHERE t.k = u.k AND t.id < 25;
SELECT q.k, q.c, u.label FROM (SELECT k, count(*) AS c FROM t GROUP BY k) q LEFT JOIN u ON q.k = u.k;
SELECT t.id, u.w FROM t JOIN u ON t.k = u.k WHERE u.w IS NULL OR t.x IS NULL;
SELECT t1.g, count(*) AS c FROM t t1 LEFT JOIN u ON t1.k = u.k WHERE u.k IS NULL GROUP BY t1.g;
SELECT count(*) AS c, count(u.k) AS matched FROM t LEFT JOIN u ON t.k = u.k;
