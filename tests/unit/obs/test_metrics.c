/* SPDX-License-Identifier: MIT */
/* The metrics registry on one thread: the exact exposition text of a small registry, escaping,
 * histogram bucket edges, the label-set limit and its overflow series, registration errors,
 * handle identity, func metrics, the runtime families, and a larger registry rendered and
 * parsed back against a model. (Several threads: test_metrics_threads.c.)
 */
#include "test.h"

#include "harness/prom_parse.h"
#include "obs/obs_int.h"

#include "corio/core.h"
#include "corio/obs.h"

#include <errno.h>
#include <math.h>

static char *render(corio_metrics *r)
{
    char *text;
    size_t len;
    ASSERT_EQ(corio_metrics_render(r, &text, &len), 0);
    ASSERT_EQ(strlen(text), len);
    return text;
}

/* Renders and parses; the caller frees with prom_free. */
static void render_parse(corio_metrics *r, struct prom_doc *d)
{
    char *text = render(r);
    char err[256];
    if (prom_parse(text, strlen(text), d, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n---\n%s---\n", err, text);
        ASSERT(!"exposition did not parse");
    }
    free(text);
}

static double answer(void *ctx)
{
    (void)ctx;
    return 42;
}

TEST(golden_text_of_a_small_registry)
{
    corio_metrics *r;
    corio_counter *c, *empty;
    corio_gauge *g;
    corio_histogram *h;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_counter_register(r, "http_requests_total", "Requests.", "method, code", &c), 0);
    ASSERT_EQ(corio_gauge_register(r, "temperature", "Line one\nback\\slash \"q\"", NULL, &g), 0);
    ASSERT_EQ(corio_histogram_register(r, "latency_seconds", "Latency.", "route",
                                       (const double[]){0.25, 1}, 2, &h),
              0);
    ASSERT_EQ(corio_gauge_func_register(r, "answer", NULL, answer, NULL), 0);
    ASSERT_EQ(corio_counter_register(r, "empty_total", "Nothing yet.", "x", &empty), 0);

    corio_counter_add(corio_counter_labels(c, "GET", "200"), 3);
    corio_counter_add(corio_counter_labels(c, "POST", "500"), 1);
    corio_counter_add(corio_counter_labels(c, "GET", "200"), 2);
    corio_gauge_set(corio_gauge_labelsv(g, NULL, 0), 21.5);
    corio_metric_series *s = corio_histogram_labels(h, "/a");
    corio_histogram_observe(s, 0.125);
    corio_histogram_observe(s, 0.25); /* on the edge: counts as le="0.25" */
    corio_histogram_observe(s, 0.5);
    corio_histogram_observe(s, 3);

    char *text = render(r);
    ASSERT_STREQ(text, "# HELP http_requests_total Requests.\n"
                       "# TYPE http_requests_total counter\n"
                       "http_requests_total{method=\"GET\",code=\"200\"} 5\n"
                       "http_requests_total{method=\"POST\",code=\"500\"} 1\n"
                       "# HELP temperature Line one\\nback\\\\slash \"q\"\n"
                       "# TYPE temperature gauge\n"
                       "temperature 21.5\n"
                       "# HELP latency_seconds Latency.\n"
                       "# TYPE latency_seconds histogram\n"
                       "latency_seconds_bucket{route=\"/a\",le=\"0.25\"} 2\n"
                       "latency_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
                       "latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
                       "latency_seconds_sum{route=\"/a\"} 3.875\n"
                       "latency_seconds_count{route=\"/a\"} 4\n"
                       "# TYPE answer gauge\n"
                       "answer 42\n"
                       "# HELP empty_total Nothing yet.\n"
                       "# TYPE empty_total counter\n");
    free(text);
    corio_metrics_free(r);
}

TEST(unlabelled_families_render_zero_before_any_recording)
{
    corio_metrics *r;
    corio_counter *c;
    corio_gauge *g;
    corio_histogram *h;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_counter_register(r, "a_total", NULL, NULL, &c), 0);
    ASSERT_EQ(corio_gauge_register(r, "b", NULL, "", &g), 0);
    ASSERT_EQ(corio_histogram_register(r, "c", NULL, NULL, (const double[]){1}, 1, &h), 0);
    char *text = render(r);
    ASSERT_STREQ(text, "# TYPE a_total counter\n"
                       "a_total 0\n"
                       "# TYPE b gauge\n"
                       "b 0\n"
                       "# TYPE c histogram\n"
                       "c_bucket{le=\"1\"} 0\n"
                       "c_bucket{le=\"+Inf\"} 0\n"
                       "c_sum 0\n"
                       "c_count 0\n");
    free(text);
    corio_metrics_free(r);
}

TEST(empty_registry_renders_an_empty_string)
{
    corio_metrics *r;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    char *text = render(r);
    ASSERT_STREQ(text, "");
    free(text);
    corio_metrics_free(r);
}

TEST(label_values_are_escaped_and_parse_back)
{
    corio_metrics *r;
    corio_counter *c;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_counter_register(r, "esc_total", "h", "v", &c), 0);
    const char *hostile = "a\\b\"c\nd";
    corio_counter_add(corio_counter_labels(c, hostile), 1);
    corio_counter_add(corio_counter_labels(c, "bad\xff utf8 \xc0\xaf ok \xc3\xa9"), 2);
    corio_counter_add(corio_counter_labels(c, ""), 3);
    corio_counter_add(corio_counter_labels(c, NULL), 4); /* NULL reads as "" */
    char *text = render(r);
    ASSERT_STREQ(text, "# HELP esc_total h\n"
                       "# TYPE esc_total counter\n"
                       "esc_total{v=\"a\\\\b\\\"c\\nd\"} 1\n"
                       "esc_total{v=\"bad\xef\xbf\xbd utf8 \xef\xbf\xbd\xef\xbf\xbd ok "
                       "\xc3\xa9\"} 2\n"
                       "esc_total{v=\"\"} 7\n");
    free(text);

    struct prom_doc d;
    double v;
    render_parse(r, &d);
    ASSERT(prom_value(&d, &v, "esc_total", "v", hostile, NULL));
    ASSERT_EQ(v, 1);
    ASSERT(prom_value(&d, &v, "esc_total", "v", "", NULL));
    ASSERT_EQ(v, 7);
    prom_free(&d);
    corio_metrics_free(r);
}

TEST(prom_escape_and_number_format_units)
{
    struct corio__obs_buf b = {0};
    corio__prom_escape(&b, "x\\\"\n\"", 5, false); /* HELP: quotes stay */
    ASSERT_STREQ(b.p, "x\\\\\"\\n\"");
    corio__obs_buf_free(&b);
    corio__prom_escape(&b, "\xe2\x82", 2, true); /* truncated sequence: two replacements */
    ASSERT_STREQ(b.p, "\xef\xbf\xbd\xef\xbf\xbd");
    corio__obs_buf_free(&b);

    char out[32];
    static const struct {
        double v;
        const char *s;
    } cases[] = {{0.0005, "0.0005"}, {1, "1"},
                 {2.5, "2.5"},       {10, "10"},
                 {0.1, "0.1"},       {-3, "-3"},
                 {1e21, "1e+21"},    {1.0 / 3, "0.3333333333333333"},
                 {0, "0"},           {123456789, "123456789"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        corio__fmt_double(out, cases[i].v);
        ASSERT_STREQ(out, cases[i].s);
    }
    corio__fmt_double(out, INFINITY);
    ASSERT_STREQ(out, "+Inf");
    corio__fmt_double(out, -INFINITY);
    ASSERT_STREQ(out, "-Inf");
    corio__fmt_double(out, NAN);
    ASSERT_STREQ(out, "NaN");
}

TEST(histogram_counts_observations_on_a_bound_in_that_bucket)
{
    corio_metrics *r;
    corio_histogram *h;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_histogram_register(r, "lat_seconds", "l", "k", NULL, 0, &h), 0);
    corio_metric_series *s = corio_histogram_labels(h, "edges");
    const double *b = corio_metrics_default_buckets;
    for (int i = 0; i < CORIO_METRICS_DEFAULT_NBUCKETS; i++)
        corio_histogram_observe(s, b[i]);  /* exactly on each bound */
    corio_histogram_observe(s, 10.000001); /* just past the last: +Inf only */
    corio_histogram_observe(s, 0);         /* at or below the first bound */
    corio_histogram_observe(s, -1);
    corio_histogram_observe(s, NAN);                /* ignored */
    corio_histogram_observe_ns(s, 3 * CORIO_MS);    /* 0.003 s: le="0.005" */
    corio_histogram_observe_ns(s, 2500 * CORIO_MS); /* 2.5 s, on the bound */

    struct prom_doc d;
    render_parse(r, &d);
    /* Non-cumulative per bucket: 1 each, plus 0 and -1 in the first, 0.003 in .005 and 2.5 s
     * in 2.5. */
    double want = 0, v;
    char le[32];
    for (int i = 0; i < CORIO_METRICS_DEFAULT_NBUCKETS; i++) {
        want += 1;
        if (i == 0)
            want += 2;
        if (b[i] == 0.005 || b[i] == 2.5)
            want += 1;
        corio__fmt_double(le, b[i]);
        ASSERT(prom_value(&d, &v, "lat_seconds_bucket", "k", "edges", "le", le, NULL));
        ASSERT_EQ(v, want);
    }
    ASSERT(prom_value(&d, &v, "lat_seconds_bucket", "k", "edges", "le", "+Inf", NULL));
    ASSERT_EQ(v, want + 1);
    ASSERT(prom_value(&d, &v, "lat_seconds_count", "k", "edges", NULL));
    ASSERT_EQ(v, CORIO_METRICS_DEFAULT_NBUCKETS + 5);
    double sum = 0;
    for (int i = 0; i < CORIO_METRICS_DEFAULT_NBUCKETS; i++)
        sum += b[i];
    sum += 10.000001 + 0 - 1 + 0.003 + 2.5;
    ASSERT(prom_value(&d, &v, "lat_seconds_sum", "k", "edges", NULL));
    ASSERT(fabs(v - sum) < 1e-9);
    /* The default bounds render as the usual strings. */
    ASSERT_NOT_NULL(prom_find(&d, "lat_seconds_bucket", "k", "edges", "le", "0.0005", NULL));
    ASSERT_NOT_NULL(prom_find(&d, "lat_seconds_bucket", "k", "edges", "le", "0.0025", NULL));
    ASSERT_NOT_NULL(prom_find(&d, "lat_seconds_bucket", "k", "edges", "le", "10", NULL));
    prom_free(&d);
    corio_metrics_free(r);
}

TEST(label_set_limit_sends_new_sets_to_the_overflow_series)
{
    corio_metrics *r;
    corio_counter *c;
    corio_histogram *h;
    ASSERT_EQ(corio_metrics_new(&(struct corio_metrics_opts){.max_label_sets = 3}, &r), 0);
    ASSERT_EQ(corio_counter_register(r, "req_total", "r", "path,code", &c), 0);
    ASSERT_EQ(corio_histogram_register(r, "h_seconds", "h", "path", (const double[]){1}, 1, &h), 0);
    char path[32];
    corio_metric_series *first = corio_counter_labels(c, "/0", "200");
    for (int i = 0; i < 10; i++) {
        snprintf(path, sizeof path, "/%d", i);
        corio_counter_add(corio_counter_labels(c, path, "200"), 1);
        corio_histogram_observe(corio_histogram_labels(h, path), 0.5);
    }
    /* Known sets keep their own series past the limit; refused ones share the overflow. */
    ASSERT_PTR_EQ(corio_counter_labels(c, "/0", "200"), first);
    corio_metric_series *ov = corio_counter_labels(c, "/9", "200");
    ASSERT_PTR_EQ(corio_counter_labels(c, "/8", "200"), ov);
    ASSERT(ov != first);
    ASSERT_EQ(corio_metrics_dropped_label_sets(r, "req_total"), 7 + 2);
    ASSERT_EQ(corio_metrics_dropped_label_sets(r, "h_seconds"), 7);
    ASSERT_EQ(corio_metrics_dropped_label_sets(r, "nope"), 0);

    struct prom_doc d;
    double v;
    render_parse(r, &d);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/%d", i);
        ASSERT(prom_value(&d, &v, "req_total", "path", path, "code", "200", NULL));
        ASSERT_EQ(v, 1);
    }
    ASSERT(!prom_value(&d, &v, "req_total", "path", "/3", "code", "200", NULL));
    ASSERT(prom_value(&d, &v, "req_total", "path", "__overflow__", "code", "__overflow__", NULL));
    ASSERT_EQ(v, 7);
    ASSERT(prom_value(&d, &v, "h_seconds_count", "path", "__overflow__", NULL));
    ASSERT_EQ(v, 7);
    ASSERT(
        prom_value(&d, &v, "corio_metrics_label_sets_dropped_total", "metric", "req_total", NULL));
    ASSERT_EQ(v, 9);
    ASSERT(
        prom_value(&d, &v, "corio_metrics_label_sets_dropped_total", "metric", "h_seconds", NULL));
    ASSERT_EQ(v, 7);
    /* Bounded: 3 sets + overflow per family, nothing more. */
    size_t n = 0;
    for (size_t i = 0; i < d.nsamples; i++)
        n += strcmp(d.samples[i].name, "req_total") == 0;
    ASSERT_EQ(n, 4);
    prom_free(&d);
    corio_metrics_free(r);
}

TEST(registration_rejects_bad_names_labels_and_buckets)
{
    corio_metrics *r;
    corio_counter *c;
    corio_histogram *h;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_counter_register(r, "", NULL, NULL, &c), -EINVAL);
    ASSERT_NULL(c);
    ASSERT_EQ(corio_counter_register(r, "9lives", NULL, NULL, &c), -EINVAL);
    ASSERT_EQ(corio_counter_register(r, "a-b", NULL, NULL, &c), -EINVAL);
    ASSERT_EQ(corio_counter_register(r, "ok:name_1", NULL, NULL, &c), 0);
    ASSERT_EQ(corio_counter_register(r, "ok:name_1", NULL, NULL, &c), -EEXIST);
    ASSERT_EQ(corio_counter_register(r, "corio_metrics_label_sets_dropped_total", NULL, NULL, &c),
              -EEXIST);
    ASSERT_EQ(corio_counter_register(r, "l1", NULL, "a:b", &c), -EINVAL);
    ASSERT_EQ(corio_counter_register(r, "l2", NULL, "__reserved", &c), -EINVAL);
    ASSERT_EQ(corio_counter_register(r, "l3", NULL, "a,a", &c), -EINVAL);
    ASSERT_EQ(corio_counter_register(r, "l4", NULL, "a,", &c), -EINVAL);
    ASSERT_EQ(corio_counter_register(r, "l5", NULL, "a,,b", &c), -EINVAL);
    ASSERT_EQ(corio_counter_register(r, "l6", NULL, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", &c),
              -EINVAL);
    ASSERT_EQ(corio_counter_register(r, "l7", NULL, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", &c), 0);
    ASSERT_EQ(corio_histogram_register(r, "h1", NULL, "le", NULL, 0, &h), -EINVAL);
    ASSERT_EQ(corio_histogram_register(r, "h2", NULL, NULL, (const double[]){1, 1}, 2, &h),
              -EINVAL);
    ASSERT_EQ(corio_histogram_register(r, "h3", NULL, NULL, (const double[]){2, 1}, 2, &h),
              -EINVAL);
    ASSERT_EQ(corio_histogram_register(r, "h4", NULL, NULL, (const double[]){1, INFINITY}, 2, &h),
              -EINVAL);
    ASSERT_EQ(corio_histogram_register(r, "h5", NULL, NULL, (const double[]){NAN}, 1, &h), -EINVAL);
    ASSERT_EQ(corio_gauge_func_register(r, "f", NULL, NULL, NULL), -EINVAL);
    /* A failed registration leaves no trace: the name is still free. */
    ASSERT_EQ(corio_histogram_register(r, "h2", NULL, NULL, (const double[]){1, 2}, 2, &h), 0);
    corio_metrics_free(r);
}

TEST_EXPECT_DEATH(wrong_number_of_label_values_aborts, SIGABRT, "n == m->nlabels")
{
    corio_metrics *r;
    corio_counter *c;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_counter_register(r, "x_total", NULL, "a,b", &c), 0);
    corio_counter_labels(c, "only one");
}

TEST(resolving_the_same_values_returns_the_same_handle)
{
    corio_metrics *r;
    corio_counter *c;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_counter_register(r, "x_total", NULL, "a,b", &c), 0);
    corio_metric_series *s1 = corio_counter_labels(c, "ab", "");
    ASSERT_NOT_NULL(s1);
    ASSERT_PTR_EQ(corio_counter_labels(c, "ab", ""), s1);
    ASSERT(corio_counter_labels(c, "a", "b") != s1); /* no ambiguity across the boundary */
    /* Many sets: the tables grow and every handle stays put. */
    corio_metric_series *hs[500];
    char v[16];
    for (int i = 0; i < 500; i++) {
        snprintf(v, sizeof v, "%d", i);
        hs[i] = corio_counter_labels(c, v, v);
        corio_counter_add(hs[i], (uint64_t)i);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(v, sizeof v, "%d", i);
        ASSERT_PTR_EQ(corio_counter_labels(c, v, v), hs[i]);
    }
    /* Values are cut at CORIO_METRICS_MAX_VALUE_LEN bytes. */
    char longv[CORIO_METRICS_MAX_VALUE_LEN + 50], longw[sizeof longv];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = 0;
    memcpy(longw, longv, sizeof longv);
    longw[CORIO_METRICS_MAX_VALUE_LEN + 10] = 'y';
    ASSERT_PTR_EQ(corio_counter_labels(c, longv, "L"), corio_counter_labels(c, longw, "L"));
    corio_counter_add(corio_counter_labels(c, longv, "L"), 1);

    struct prom_doc d;
    double val;
    render_parse(r, &d);
    ASSERT(prom_value(&d, &val, "x_total", "a", "499", "b", "499", NULL));
    ASSERT_EQ(val, 499);
    longv[CORIO_METRICS_MAX_VALUE_LEN] = 0;
    ASSERT(prom_value(&d, &val, "x_total", "a", longv, "b", "L", NULL));
    ASSERT_EQ(val, 1);
    prom_free(&d);
    corio_metrics_free(r);
}

TEST(null_series_is_a_no_op)
{
    corio_counter_add(NULL, 1);
    corio_gauge_set(NULL, 1);
    corio_gauge_add(NULL, 1);
    corio_histogram_observe(NULL, 1);
    corio_histogram_observe_ns(NULL, 1);
}

static double counter_fn(void *ctx)
{
    return (double)*(int *)ctx;
}

TEST(gauges_and_func_metrics)
{
    corio_metrics *r;
    corio_gauge *g;
    int calls = 7;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_gauge_register(r, "inflight", "i", "route", &g), 0);
    ASSERT_EQ(corio_counter_func_register(r, "calls_total", "c", counter_fn, &calls), 0);
    corio_metric_series *s = corio_gauge_labels(g, "/x");
    corio_gauge_add(s, 1);
    corio_gauge_add(s, 1);
    corio_gauge_add(s, -0.5);
    corio_gauge_set(corio_gauge_labels(g, "/y"), -2.25);
    struct prom_doc d;
    double v;
    render_parse(r, &d);
    ASSERT(prom_value(&d, &v, "inflight", "route", "/x", NULL));
    ASSERT(v == 1.5);
    ASSERT(prom_value(&d, &v, "inflight", "route", "/y", NULL));
    ASSERT(v == -2.25);
    ASSERT(prom_value(&d, &v, "calls_total", NULL));
    ASSERT_EQ(v, 7);
    ASSERT_STREQ(prom_family(&d, "calls_total")->type, "counter");
    prom_free(&d);
    calls = 8;
    render_parse(r, &d);
    ASSERT(prom_value(&d, &v, "calls_total", NULL));
    ASSERT_EQ(v, 8);
    prom_free(&d);
    corio_metrics_free(r);
}

/* A larger registry with a pseudo-random workload, checked against a model after parsing. */
TEST(render_of_a_random_workload_parses_back_to_the_model)
{
    enum { SETS = 40, OPS = 20000 };
    corio_metrics *r;
    corio_counter *c;
    corio_histogram *h;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_counter_register(r, "ops_total", "ops", "kind,id", &c), 0);
    ASSERT_EQ(corio_histogram_register(r, "size_bytes", "sizes", "kind",
                                       (const double[]){16, 256, 4096}, 3, &h),
              0);
    static uint64_t model[SETS];
    static uint64_t hb[2][4];
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < OPS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int set = (int)(x % SETS);
        char kind[16], id[16];
        snprintf(kind, sizeof kind, "k%d", set % 2);
        snprintf(id, sizeof id, "%d", set);
        uint64_t n = (x >> 20) % 5;
        corio_counter_add(corio_counter_labels(c, kind, id), n);
        model[set] += n;
        double size = (double)((x >> 30) % 10000);
        corio_histogram_observe(corio_histogram_labels(h, kind), size);
        hb[set % 2][size <= 16 ? 0 : size <= 256 ? 1 : size <= 4096 ? 2 : 3]++;
    }
    struct prom_doc d;
    double v;
    render_parse(r, &d);
    for (int set = 0; set < SETS; set++) {
        char kind[16], id[16];
        snprintf(kind, sizeof kind, "k%d", set % 2);
        snprintf(id, sizeof id, "%d", set);
        ASSERT(prom_value(&d, &v, "ops_total", "kind", kind, "id", id, NULL));
        ASSERT_EQ(v, model[set]);
    }
    static const char *const les[] = {"16", "256", "4096", "+Inf"};
    for (int k = 0; k < 2; k++) {
        char kind[16];
        snprintf(kind, sizeof kind, "k%d", k);
        uint64_t cum = 0;
        for (int b = 0; b < 4; b++) {
            cum += hb[k][b];
            ASSERT(prom_value(&d, &v, "size_bytes_bucket", "kind", kind, "le", les[b], NULL));
            ASSERT_EQ(v, cum);
        }
    }
    prom_free(&d);
    corio_metrics_free(r);
}

/* ---- runtime families on one loop -------------------------------------------------------------
 */

static int noop(void *arg)
{
    (void)arg;
    return 0;
}

static int runtime_main(void *arg)
{
    corio_metrics *r = arg;
    ASSERT_EQ(corio_metrics_runtime_register(r, 0), 0);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(corio_spawn(NULL, noop, NULL), 0);
    ASSERT_EQ(corio_sleep(2 * CORIO_S), 0); /* virtual: two refreshes */
    struct prom_doc d;
    double v;
    render_parse(r, &d);
    ASSERT(prom_value(&d, &v, "corio_tasks_spawned_total", "worker", "0", NULL));
    ASSERT_GE(v, 6); /* the five, the refresher */
    ASSERT(prom_value(&d, &v, "corio_tasks_finished_total", "worker", "0", NULL));
    ASSERT_GE(v, 5);
    ASSERT(prom_value(&d, &v, "corio_tasks", "worker", "0", NULL));
    ASSERT_GE(v, 2); /* main and the refresher */
    ASSERT(prom_value(&d, &v, "corio_context_switches_total", "worker", "0", NULL));
    ASSERT_GT(v, 0);
    ASSERT_STREQ(prom_family(&d, "corio_tasks")->type, "gauge");
    ASSERT_STREQ(prom_family(&d, "corio_timers_fired_total")->type, "counter");
    prom_free(&d);
    /* A second call declares nothing new (the render still parses: no duplicate family). */
    ASSERT_EQ(corio_metrics_runtime_register(r, 10 * CORIO_MS), 0);
    render_parse(r, &d);
    prom_free(&d);
    return 0;
}

TEST(runtime_families_show_the_worker_counters)
{
    corio_metrics *r;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    struct corio_run_opts o = {.virtual_time = true, .watchdog_ns = -1};
    ASSERT_EQ(corio_run(&o, runtime_main, r), 0);
    corio_metrics_free(r);
}

static int runtime_clash_main(void *arg)
{
    corio_metrics *r = arg;
    ASSERT_EQ(corio_metrics_runtime_register(r, 0), -EEXIST);
    return 0;
}

TEST(runtime_families_refuse_a_taken_name)
{
    corio_metrics *r;
    corio_gauge *g;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_gauge_register(r, "corio_timers", NULL, NULL, &g), 0);
    struct corio_run_opts o = {.virtual_time = true, .watchdog_ns = -1};
    ASSERT_EQ(corio_run(&o, runtime_clash_main, r), 0);
    char *text = render(r);
    ASSERT_STREQ(text, "# TYPE corio_timers gauge\ncorio_timers 0\n");
    free(text);
    corio_metrics_free(r);
}
