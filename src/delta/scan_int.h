/*
 * delta/scan_int.h: typed partition constants for the scan (partval.c,
 * scan.c).
 */
#ifndef TARN_DELTA_SCAN_INT_H
#define TARN_DELTA_SCAN_INT_H

#include "delta/delta_int.h"

/* One typed value: fixed-width in `v` (laid out as the vec type), strings
 * and binaries borrowed from the snapshot. */
typedef struct delta_const {
    bool is_null;
    union {
        int8_t i8;
        int16_t i16;
        int32_t i32;
        int64_t i64;
        uint8_t u8;
        float f32;
        double f64;
    } v;
    const char *str; /* borrowed */
    size_t str_len;
} delta_const;

/* Parses a partition value (NULL: null) of column `f`. TARN_ECORRUPT for
 * a value that is not of the column's type, TARN_ENOTSUP for decimals of
 * more than 18 digits. */
int delta_const_parse(const delta_field *f, const char *text, delta_const *out, tarn_err *err);

/* A timestamp text (README "Reading rows"; ISO forms may carry 'Z' or a
 * "+HH:MM" offset) as microseconds since the epoch, UTC; -1 when it does
 * not parse. *frac_digits (may be NULL): its fractional digits. */
int delta_timestamp_parse(const char *s, int64_t *micros, int *frac_digits);

#endif
