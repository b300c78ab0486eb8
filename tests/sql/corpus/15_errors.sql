-- Errors: both engines must fail (integer overflow, bad casts, unknown
-- names), or Tarn must where DuckDB departs from the SQL standard.
-- expect: error
SELECT 9223372036854775807 + 1 AS o;
-- expect: error
SELECT big + 1 AS o FROM x WHERE id = 1;
-- expect: error
SELECT big - 1 AS o FROM x WHERE id = 2;
-- expect: error
SELECT big * 2 AS o FROM x WHERE id = 6;
-- expect: error
SELECT -big AS o FROM x WHERE id = 2;
-- expect: error
SELECT i32 + 1 AS o FROM x WHERE id = 1;
-- expect: error
SELECT CAST('abc' AS INTEGER) AS c;
-- expect: error
SELECT CAST('12x' AS BIGINT) AS c;
-- expect: error
SELECT CAST('2020-02-30' AS DATE) AS c;
-- expect: error
SELECT CAST('not a time' AS TIMESTAMP) AS c;
-- expect: error
SELECT CAST(300 AS TINYINT) AS c;
-- expect: error
SELECT CAST(big AS INTEGER) AS c FROM x WHERE id = 1;
-- expect: error
SELECT CAST(1e20 AS BIGINT) AS c;
-- expect: error
SELECT CAST(s AS INTEGER) AS c FROM t;
-- expect: error
SELECT CAST(123456.789 AS DECIMAL(5,2)) AS c;
-- expect: error
SELECT nosuchcolumn FROM t;
-- expect: error
SELECT * FROM nosuchtable;
-- expect: error
SELECT k, n FROM t GROUP BY k;
-- expect: error
SELECT sum(s) AS bad FROM t;
-- expect: error
SELECT id FROM t WHERE s = 1 + 'x';
-- Division and modulo by zero are NULL in DuckDB (the SQL standard says
-- error); Tarn follows DuckDB (exec README).
SELECT 1 / 0 AS z;
SELECT n / (k - k) AS z FROM t WHERE k IS NOT NULL;
SELECT n % 0 AS z FROM t WHERE n IS NOT NULL;
SELECT m % 0 AS z, x / 0 AS q FROM t WHERE id < 20;
-- expect: tarn-error DuckDB sums BIGINT into HUGEINT; Tarn's sum is BIGINT, checked for overflow
SELECT sum(big) AS s FROM x WHERE big > 0;
