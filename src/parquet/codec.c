/*
 * parquet/codec.c: page compression codecs (parquet.thrift CompressionCodec)
 * over Debian's libsnappy, libzstd, zlib and liblz4. Decompression writes
 * into a buffer sized from the page header and insists on getting exactly
 * that many bytes, so a lying header cannot make us allocate or write more.
 */
#include "parquet/pq_int.h"

#include "parquet/meta.h"

#include <limits.h>
#include <lz4.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

const char *pq_codec_name(int codec)
{
    static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                  "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
    return codec >= 0 && codec < 8 ? names[codec] : "UNKNOWN";
}

static int gunzip(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len, tarn_err *err)
{
    if (src_len > UINT_MAX || dst_len > UINT_MAX)
        return tarn_err_set(err, TARN_ECORRUPT, "gzip page too large");
    z_stream z = {0};
    /* 32 + MAX_WBITS: accept gzip and zlib headers (writers differ). */
    if (inflateInit2(&z, 32 + MAX_WBITS) != Z_OK)
        return tarn_err_set(err, TARN_ENOMEM, "gzip: inflateInit failed");
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)src_len;
    z.next_out = dst;
    z.avail_out = (uInt)dst_len;
    int zr = inflate(&z, Z_FINISH);
    size_t got = dst_len - z.avail_out;
    inflateEnd(&z);
    if (zr != Z_STREAM_END || got != dst_len)
        return tarn_err_set(err, TARN_ECORRUPT, "gzip: bad data or size (%zu of %zu bytes)", got,
                            dst_len);
    return 0;
}

int pq_decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len,
                  tarn_err *err)
{
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
        if (src_len != dst_len)
            return tarn_err_set(err, TARN_ECORRUPT,
                                "uncompressed page: stored %zu bytes, header says %zu", src_len,
                                dst_len);
        if (dst_len)
            memcpy(dst, src, dst_len);
        return 0;
    case PQ_CODEC_SNAPPY: {
        size_t n;
        if (snappy_uncompressed_length((const char *)src, src_len, &n) != SNAPPY_OK || n != dst_len)
            return tarn_err_set(err, TARN_ECORRUPT, "snappy: bad header or size");
        if (snappy_uncompress((const char *)src, src_len, (char *)dst, &n) != SNAPPY_OK ||
            n != dst_len)
            return tarn_err_set(err, TARN_ECORRUPT, "snappy: bad data");
        return 0;
    }
    case PQ_CODEC_ZSTD: {
        size_t n = ZSTD_decompress(dst, dst_len, src, src_len);
        if (ZSTD_isError(n) || n != dst_len)
            return tarn_err_set(err, TARN_ECORRUPT, "zstd: %s",
                                ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch");
        return 0;
    }
    case PQ_CODEC_GZIP:
        return gunzip(src, src_len, dst, dst_len, err);
    case PQ_CODEC_LZ4_RAW: {
        if (src_len > INT_MAX || dst_len > INT_MAX)
            return tarn_err_set(err, TARN_ECORRUPT, "lz4: page too large");
        int n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)src_len, (int)dst_len);
        if (n < 0 || (size_t)n != dst_len)
            return tarn_err_set(err, TARN_ECORRUPT, "lz4: bad data or size");
        return 0;
    }
    default:
        return tarn_err_set(err, TARN_ENOTSUP, "codec %s (%d) not supported", pq_codec_name(codec),
                            codec);
    }
}

uint32_t pq_crc32(const uint8_t *p, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) { /* zlib takes uInt lengths */
        uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;
        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)crc;
}

int pq_compress(int codec, const uint8_t *src, size_t src_len, tarn_buf *out)
{
    int rc;
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
        return tarn_buf_append(out, src, src_len);
    case PQ_CODEC_SNAPPY: {
        size_t n = snappy_max_compressed_length(src_len);
        if ((rc = tarn_buf_reserve(out, n)) != 0)
            return rc;
        if (snappy_compress((const char *)src, src_len, (char *)out->data + out->len, &n) !=
            SNAPPY_OK)
            return TARN_EINTERNAL;
        out->len += n;
        return 0;
    }
    case PQ_CODEC_ZSTD: {
        size_t n = ZSTD_compressBound(src_len);
        if ((rc = tarn_buf_reserve(out, n)) != 0)
            return rc;
        n = ZSTD_compress(out->data + out->len, n, src, src_len, 3);
        if (ZSTD_isError(n))
            return TARN_EINTERNAL;
        out->len += n;
        return 0;
    }
    default:
        return TARN_ENOTSUP;
    }
}
