-- TPC-H shapes over li (lineitem-gen.sql at 20,000 rows).
-- ordered
SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price, sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price, sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge, avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price, avg(l_discount) AS avg_disc, count(*) AS count_order FROM li WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL '90' DAY GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus;
SELECT sum(l_extendedprice * l_discount) AS revenue FROM li WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1994-01-01' + INTERVAL '1' YEAR AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24;
SELECT count(*) AS c FROM li WHERE l_shipdate > DATE '1996-03-15' AND l_quantity < 10;
SELECT l_returnflag, count(*) AS c FROM li GROUP BY l_returnflag;
-- ordered
SELECT l_orderkey, sum(l_extendedprice) AS rev FROM li GROUP BY l_orderkey ORDER BY rev DESC, l_orderkey LIMIT 10;
SELECT extract(year FROM l_shipdate) AS y, sum(l_quantity) AS q FROM li GROUP BY extract(year FROM l_shipdate);
SELECT count(DISTINCT l_orderkey) AS orders FROM li;
SELECT min(l_shipdate) AS a, max(l_shipdate) AS b, min(l_extendedprice) AS c, max(l_extendedprice) AS e FROM li;
SELECT l_linestatus, avg(l_tax) AS t FROM li WHERE l_discount = 0.1 GROUP BY l_linestatus;
SELECT date_trunc('year', l_shipdate) AS y, count(*) AS c FROM li GROUP BY date_trunc('year', l_shipdate);
