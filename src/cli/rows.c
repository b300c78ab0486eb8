/*
 * cli/rows.c: the one row printer of the commands that print rows
 * (`tarn sql`, `tarn table scan`, `tarn delta scan`, `tarn demo`): an
 * aligned table for people, CSV, or JSON lines (the `tarn parquet cat
 * --format json` shape). Values are rendered by sql_value_text, so every
 * command prints a value the same way.
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "sql/session.h"

#include <string.h>

/* Rows the table format holds to align its columns; more are counted. */
#define ROWS_TABLE_MAX 10000

int cli_rows_format(const char *s)
{
    return strcmp(s, "table") == 0  ? CLI_FMT_TABLE
           : strcmp(s, "csv") == 0  ? CLI_FMT_CSV
           : strcmp(s, "json") == 0 ? CLI_FMT_JSON
                                    : -1;
}

static void csv_cell(FILE *out, const char *s, size_t n)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fwrite(s, 1, n, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', out);
        fputc(s[i], out);
    }
    fputc('"', out);
}

int cli_rows_begin(cli_rows *r, int fmt, FILE *out, uint32_t ncols, const char *const *names)
{
    memset(r, 0, sizeof(*r));
    r->fmt = fmt;
    r->out = out;
    /* Copies: a sink's names are borrowed only for the call. */
    r->names = tarn_calloc(ncols + 1, sizeof(char *));
    if (r->names == NULL)
        return TARN_ENOMEM;
    for (uint32_t c = 0; c < ncols; c++) {
        if ((r->names[c] = tarn_strdup(names[c])) == NULL)
            return TARN_ENOMEM;
        r->ncols = c + 1;
    }
    if (fmt == CLI_FMT_CSV) {
        for (uint32_t c = 0; c < ncols; c++) {
            fputs(c ? "," : "", out);
            csv_cell(out, names[c], strlen(names[c]));
        }
        fputc('\n', out);
    }
    return 0;
}

static int json_row(cli_rows *r, const vec_batch *b, uint32_t row, tarn_buf *line, tarn_buf *v)
{
    tarn_buf_reset(line);
    int rc = tarn_buf_append_byte(line, '{');
    for (uint32_t c = 0; rc == 0 && c < r->ncols; c++) {
        bool quote = false;
        rc = tarn_buf_append_str(line, c ? "," : "");
        if (rc == 0)
            rc = tarn_buf_append_json_str(line, r->names[c], strlen(r->names[c]));
        if (rc == 0)
            rc = tarn_buf_append_byte(line, ':');
        if (rc == 0 && !vec_col_is_valid(&b->cols[c], row)) {
            rc = tarn_buf_append_str(line, "null");
            continue;
        }
        tarn_buf_reset(v);
        if (rc == 0)
            rc = sql_value_text(v, &b->cols[c], row, &quote);
        if (rc == 0)
            rc = quote ? tarn_buf_append_json_str(line, tarn_buf_cstr(v), v->len)
                       : tarn_buf_append(line, tarn_buf_cstr(v), v->len);
    }
    if (rc == 0)
        rc = tarn_buf_append_str(line, "}\n");
    if (rc == 0)
        fwrite(line->data, 1, line->len, r->out);
    return rc;
}

static int csv_row(cli_rows *r, const vec_batch *b, uint32_t row, tarn_buf *v)
{
    int rc = 0;
    for (uint32_t c = 0; rc == 0 && c < r->ncols; c++) {
        bool quote;
        fputs(c ? "," : "", r->out);
        tarn_buf_reset(v);
        if (vec_col_is_valid(&b->cols[c], row) &&
            (rc = sql_value_text(v, &b->cols[c], row, &quote)) == 0)
            csv_cell(r->out, tarn_buf_cstr(v), v->len);
    }
    fputc('\n', r->out);
    return rc;
}

static int table_row(cli_rows *r, const vec_batch *b, uint32_t row)
{
    if (r->kept >= ROWS_TABLE_MAX)
        return 0;
    tarn_buf *cells = tarn_realloc(r->cells, (r->kept + 1) * r->ncols * sizeof(tarn_buf));
    if (cells == NULL)
        return TARN_ENOMEM;
    r->cells = cells;
    tarn_buf *cell = &cells[r->kept * r->ncols];
    int rc = 0;
    for (uint32_t c = 0; c < r->ncols; c++) {
        bool quote;
        tarn_buf_init(&cell[c], TARN_BUF_UNBOUNDED);
        if (!vec_col_is_valid(&b->cols[c], row))
            rc = rc ? rc : tarn_buf_append_str(&cell[c], "NULL");
        else
            rc = rc ? rc : sql_value_text(&cell[c], &b->cols[c], row, &quote);
    }
    r->kept++;
    return rc;
}

int cli_rows_batch(cli_rows *r, const vec_batch *b, uint64_t limit)
{
    tarn_buf line, v;
    tarn_buf_init(&line, TARN_BUF_UNBOUNDED);
    tarn_buf_init(&v, TARN_BUF_UNBOUNDED);
    int rc = 0;
    uint32_t live = vec_batch_live_count(b);
    for (uint32_t k = 0; rc == 0 && k < live && r->rows < limit; k++, r->rows++) {
        uint32_t row = b->sel_active ? b->sel[k] : k;
        rc = r->fmt == CLI_FMT_JSON  ? json_row(r, b, row, &line, &v)
             : r->fmt == CLI_FMT_CSV ? csv_row(r, b, row, &v)
                                     : table_row(r, b, row);
    }
    tarn_buf_free(&line);
    tarn_buf_free(&v);
    return rc;
}

/* Terminal columns of UTF-8 text: one per character (no wide glyphs). */
static size_t utf8_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

static void table_cell(FILE *out, uint32_t c, const char *s, size_t n, size_t width)
{
    fprintf(out, "%s%s%*s", c ? " | " : " ", s, (int)(width - utf8_width(s, n)), "");
}

/* The table format: a header, a rule, aligned cells, the row count. */
static void table_print(cli_rows *r)
{
    size_t *w = tarn_calloc(r->ncols + 1, sizeof(size_t));
    if (w == NULL)
        return;
    for (uint32_t c = 0; c < r->ncols; c++) {
        w[c] = utf8_width(r->names[c], strlen(r->names[c]));
        for (size_t i = 0; i < r->kept; i++) {
            tarn_buf *cell = &r->cells[i * r->ncols + c];
            size_t cw = utf8_width(tarn_buf_cstr(cell), cell->len);
            w[c] = cw > w[c] ? cw : w[c];
        }
    }
    for (uint32_t c = 0; c < r->ncols; c++)
        table_cell(r->out, c, r->names[c], strlen(r->names[c]), w[c]);
    fputc('\n', r->out);
    for (uint32_t c = 0; c < r->ncols; c++) {
        fputs(c ? "-+-" : "-", r->out);
        for (size_t k = 0; k < w[c]; k++)
            fputc('-', r->out);
    }
    fputc('\n', r->out);
    for (size_t i = 0; i < r->kept; i++) {
        for (uint32_t c = 0; c < r->ncols; c++) {
            tarn_buf *cell = &r->cells[i * r->ncols + c];
            table_cell(r->out, c, tarn_buf_cstr(cell), cell->len, w[c]);
        }
        fputc('\n', r->out);
    }
    if (r->rows > r->kept)
        fprintf(r->out, "... %llu more rows\n", (unsigned long long)(r->rows - r->kept));
    fprintf(r->out, "(%llu row%s)\n", (unsigned long long)r->rows, r->rows == 1 ? "" : "s");
    tarn_free(w);
}

void cli_rows_free(cli_rows *r)
{
    for (size_t i = 0; r->cells != NULL && i < r->kept * r->ncols; i++)
        tarn_buf_free(&r->cells[i]);
    tarn_free(r->cells);
    for (uint32_t c = 0; r->names != NULL && c < r->ncols; c++)
        tarn_free(r->names[c]);
    tarn_free(r->names);
    memset(r, 0, sizeof(*r));
}

void cli_rows_end(cli_rows *r)
{
    if (r->fmt == CLI_FMT_TABLE && r->names != NULL)
        table_print(r);
    fflush(r->out);
    cli_rows_free(r);
}
