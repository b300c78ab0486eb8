/* Tests of objstore/ under concurrency: put_if_absent has exactly one
 * winner, and a reader never sees a partial object while it is replaced. */
#include "objstore_fixture.h"

#include <pthread.h>

#define RACERS      8
#define RACE_ROUNDS 40

typedef struct racer {
    objstore *os;
    pthread_barrier_t *start;
    int id;
    int rounds;
    int won[RACE_ROUNDS]; /* 1 won, 0 TARN_EEXIST, -1 anything else */
} racer;

static void *race_main(void *arg)
{
    racer *r = arg;
    for (int round = 0; round < r->rounds; round++) {
        char key[64], val[64];
        snprintf(key, sizeof(key), "tables/t/_delta_log/%020d.json", round);
        snprintf(val, sizeof(val), "writer %d", r->id);
        pthread_barrier_wait(r->start);
        tarn_err err = TARN_ERR_INIT;
        int rc = objstore_put_if_absent(r->os, key, val, strlen(val), &err);
        r->won[round] = rc == 0 ? 1 : rc == TARN_EEXIST ? 0 : -1;
    }
    return NULL;
}

static void test_put_if_absent_one_winner(void **state)
{
    fx *f = *state;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    racer rs[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (racer){.os = f->os, .start = &start, .id = i, .rounds = RACE_ROUNDS};
        assert_int_equal(pthread_create(&th[i], NULL, race_main, &rs[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int round = 0; round < RACE_ROUNDS; round++) {
        int winner = -1;
        for (int i = 0; i < RACERS; i++) {
            assert_int_not_equal(rs[i].won[round], -1);
            if (rs[i].won[round] == 1) {
                assert_int_equal(winner, -1); /* at most one */
                winner = i;
            }
        }
        assert_int_not_equal(winner, -1); /* at least one */
        char key[64], val[64];
        snprintf(key, sizeof(key), "tables/t/_delta_log/%020d.json", round);
        snprintf(val, sizeof(val), "writer %d", winner);
        expect_get(f->os, key, val);
    }
    assert_int_equal(count_temp_files(f->dir), 0);
}

#define BIG_BYTES (256 * 1024)

typedef struct reader {
    objstore *os;
    _Atomic int *stop;
    int bad;   /* partial or mixed objects seen */
    int reads; /* successful reads */
} reader;

static void *reader_main(void *arg)
{
    reader *r = arg;
    tarn_buf b;
    tarn_buf_init(&b, 1 << 20);
    while (!*r->stop) {
        tarn_buf_reset(&b);
        tarn_err err = TARN_ERR_INIT;
        if (objstore_get(r->os, "obj", 1 << 20, &b, &err) != 0) {
            r->bad++;
            continue;
        }
        r->reads++;
        if (b.len != BIG_BYTES) {
            r->bad++;
            continue;
        }
        for (size_t i = 1; i < b.len; i++)
            if (b.data[i] != b.data[0]) {
                r->bad++;
                break;
            }
    }
    tarn_buf_free(&b);
    return NULL;
}

static void test_readers_never_see_partial(void **state)
{
    fx *f = *state;
    char *a = malloc(BIG_BYTES), *bb = malloc(BIG_BYTES);
    assert_non_null(a);
    assert_non_null(bb);
    memset(a, 'A', BIG_BYTES);
    memset(bb, 'B', BIG_BYTES);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_put(f->os, "obj", a, BIG_BYTES, &err), 0);
    _Atomic int stop = 0;
    reader rs[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        rs[i] = (reader){.os = f->os, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rs[i]), 0);
    }
    for (int i = 0; i < 60; i++)
        assert_int_equal(objstore_put(f->os, "obj", (i & 1) ? a : bb, BIG_BYTES, &err), 0);
    stop = 1;
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rs[i].bad, 0);
        assert_true(rs[i].reads > 0);
    }
    free(a);
    free(bb);
    assert_int_equal(count_temp_files(f->dir), 0);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_if_absent_one_winner, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_readers_never_see_partial, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
