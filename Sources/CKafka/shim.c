// Run-time binding to librdkafka (see include/ckafka.h): dlopen once, then each ck_ function calls the
// library's function through a pointer looked up by name.
#include "ckafka.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

// Every librdkafka function used, as (name, return type, parameters).
#define CK_FUNCTIONS(X)                                                                                  \
    X(rd_kafka_err2str, const char *, (int))                                                            \
    X(rd_kafka_last_error, int, (void))                                                                 \
    X(rd_kafka_conf_new, ck_conf_t *, (void))                                                           \
    X(rd_kafka_conf_destroy, void, (ck_conf_t *))                                                       \
    X(rd_kafka_conf_set, int, (ck_conf_t *, const char *, const char *, char *, size_t))                 \
    X(rd_kafka_conf_set_opaque, void, (ck_conf_t *, void *))                                            \
    X(rd_kafka_conf_set_log_cb, void, (ck_conf_t *, void (*)(const ck_kafka_t *, int, const char *, const char *))) \
    X(rd_kafka_conf_set_error_cb, void, (ck_conf_t *, void (*)(ck_kafka_t *, int, const char *, void *))) \
    X(rd_kafka_conf_set_dr_msg_cb, void, (ck_conf_t *, void (*)(ck_kafka_t *, const ck_message_t *, void *))) \
    X(rd_kafka_new, ck_kafka_t *, (int, ck_conf_t *, char *, size_t))                                    \
    X(rd_kafka_destroy, void, (ck_kafka_t *))                                                           \
    X(rd_kafka_poll_set_consumer, int, (ck_kafka_t *))                                                  \
    X(rd_kafka_subscribe, int, (ck_kafka_t *, const ck_topic_partition_list_t *))                       \
    X(rd_kafka_assign, int, (ck_kafka_t *, const ck_topic_partition_list_t *))                          \
    X(rd_kafka_assignment, int, (ck_kafka_t *, ck_topic_partition_list_t **))                           \
    X(rd_kafka_consumer_close, int, (ck_kafka_t *))                                                     \
    X(rd_kafka_consumer_poll, ck_message_t *, (ck_kafka_t *, int))                                      \
    X(rd_kafka_message_destroy, void, (ck_message_t *))                                                 \
    X(rd_kafka_queue_get_consumer, ck_queue_t *, (ck_kafka_t *))                                        \
    X(rd_kafka_queue_destroy, void, (ck_queue_t *))                                                     \
    X(rd_kafka_consume_batch_queue, ssize_t, (ck_queue_t *, int, ck_message_t **, size_t))              \
    X(rd_kafka_commit, int, (ck_kafka_t *, const ck_topic_partition_list_t *, int))                     \
    X(rd_kafka_committed, int, (ck_kafka_t *, ck_topic_partition_list_t *, int))                        \
    X(rd_kafka_topic_partition_list_new, ck_topic_partition_list_t *, (int))                            \
    X(rd_kafka_topic_partition_list_add, ck_topic_partition_t *, (ck_topic_partition_list_t *, const char *, int32_t)) \
    X(rd_kafka_topic_partition_list_destroy, void, (ck_topic_partition_list_t *))                       \
    X(rd_kafka_query_watermark_offsets, int, (ck_kafka_t *, const char *, int32_t, int64_t *, int64_t *, int)) \
    X(rd_kafka_get_watermark_offsets, int, (ck_kafka_t *, const char *, int32_t, int64_t *, int64_t *)) \
    X(rd_kafka_metadata, int, (ck_kafka_t *, int, ck_topic_t *, const ck_metadata_t **, int))           \
    X(rd_kafka_metadata_destroy, void, (const ck_metadata_t *))                                         \
    X(rd_kafka_topic_new, ck_topic_t *, (ck_kafka_t *, const char *, void *))                           \
    X(rd_kafka_topic_destroy, void, (ck_topic_t *))                                                     \
    X(rd_kafka_produce, int, (ck_topic_t *, int32_t, int, void *, size_t, const void *, size_t, void *)) \
    X(rd_kafka_poll, int, (ck_kafka_t *, int))                                                          \
    X(rd_kafka_flush, int, (ck_kafka_t *, int))                                                         \
    X(rd_kafka_outq_len, int, (ck_kafka_t *))

#define CK_POINTER(name, ret, params) static ret(*p_##name) params;
CK_FUNCTIONS(CK_POINTER)

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded = 0;

int ck_load(const char *path, char *err, size_t errlen) {
    pthread_mutex_lock(&load_lock);
    if (loaded) {
        pthread_mutex_unlock(&load_lock);
        return 0;
    }
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(err, errlen, "%s", dlerror());
        pthread_mutex_unlock(&load_lock);
        return -1;
    }
#define CK_LOOKUP(name, ret, params)                                                                    \
    p_##name = (ret(*) params)dlsym(lib, #name);                                                        \
    if (!p_##name) {                                                                                    \
        snprintf(err, errlen, "%s has no %s (librdkafka too old?)", path, #name);                       \
        dlclose(lib);                                                                                   \
        pthread_mutex_unlock(&load_lock);                                                               \
        return -1;                                                                                      \
    }
    CK_FUNCTIONS(CK_LOOKUP)
    loaded = 1;
    pthread_mutex_unlock(&load_lock);
    return 0;
}

int ck_loaded(void) {
    pthread_mutex_lock(&load_lock);
    int l = loaded;
    pthread_mutex_unlock(&load_lock);
    return l;
}

// librdkafka's log lines (from its own threads): the latest one is kept, for error messages.
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_log[512];
static uint64_t log_count = 0;

static void quiet_log(const ck_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    (void)level;
    pthread_mutex_lock(&log_lock);
    snprintf(last_log, sizeof last_log, "%s: %s", fac, buf);
    log_count++;
    pthread_mutex_unlock(&log_lock);
}

uint64_t ck_last_log(char *buf, size_t len) {
    pthread_mutex_lock(&log_lock);
    snprintf(buf, len, "%s", last_log);
    uint64_t n = log_count;
    pthread_mutex_unlock(&log_lock);
    return n;
}

// The client's errors (from librdkafka's threads, or the polling one): the latest is kept.
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_error[512];
static int last_error_code = 0;
static uint64_t error_count = 0;

static void keep_error(ck_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    (void)opaque;
    pthread_mutex_lock(&error_lock);
    snprintf(last_error, sizeof last_error, "%s", reason);
    last_error_code = err;
    error_count++;
    pthread_mutex_unlock(&error_lock);
}

uint64_t ck_take_error(int *code, char *buf, size_t len) {
    pthread_mutex_lock(&error_lock);
    snprintf(buf, len, "%s", last_error);
    *code = last_error_code;
    uint64_t n = error_count;
    pthread_mutex_unlock(&error_lock);
    return n;
}

void ck_conf_keep_errors(ck_conf_t *conf) { p_rd_kafka_conf_set_error_cb(conf, keep_error); }

static void count_delivery(ck_kafka_t *rk, const ck_message_t *m, void *opaque) {
    (void)rk;
    ck_delivery_counts_t *counts = opaque;
    if (!counts) return;
    if (m->err) {
        counts->failed++;
        counts->last_error = m->err;
    } else {
        counts->delivered++;
    }
}

const char *ck_err2str(int err) { return p_rd_kafka_err2str(err); }
ck_conf_t *ck_conf_new(void) { return p_rd_kafka_conf_new(); }
void ck_conf_destroy(ck_conf_t *conf) { p_rd_kafka_conf_destroy(conf); }
int ck_conf_set(ck_conf_t *conf, const char *name, const char *value, char *errstr, size_t errlen) {
    return p_rd_kafka_conf_set(conf, name, value, errstr, errlen);
}
void ck_conf_quiet_log(ck_conf_t *conf) { p_rd_kafka_conf_set_log_cb(conf, quiet_log); }
void ck_conf_count_deliveries(ck_conf_t *conf, ck_delivery_counts_t *counts) {
    p_rd_kafka_conf_set_opaque(conf, counts);
    p_rd_kafka_conf_set_dr_msg_cb(conf, count_delivery);
}
ck_kafka_t *ck_new(int type, ck_conf_t *conf, char *errstr, size_t errlen) { return p_rd_kafka_new(type, conf, errstr, errlen); }
void ck_destroy(ck_kafka_t *rk) { p_rd_kafka_destroy(rk); }
int ck_poll_set_consumer(ck_kafka_t *rk) { return p_rd_kafka_poll_set_consumer(rk); }
int ck_subscribe(ck_kafka_t *rk, const ck_topic_partition_list_t *topics) { return p_rd_kafka_subscribe(rk, topics); }
int ck_assign(ck_kafka_t *rk, const ck_topic_partition_list_t *partitions) { return p_rd_kafka_assign(rk, partitions); }
int ck_assignment(ck_kafka_t *rk, ck_topic_partition_list_t **partitions) { return p_rd_kafka_assignment(rk, partitions); }
int ck_consumer_close(ck_kafka_t *rk) { return p_rd_kafka_consumer_close(rk); }
ck_message_t *ck_consumer_poll(ck_kafka_t *rk, int timeout_ms) { return p_rd_kafka_consumer_poll(rk, timeout_ms); }
void ck_message_destroy(ck_message_t *m) { p_rd_kafka_message_destroy(m); }
int ck_commit(ck_kafka_t *rk, const ck_topic_partition_list_t *offsets, int async) { return p_rd_kafka_commit(rk, offsets, async); }
int ck_committed(ck_kafka_t *rk, ck_topic_partition_list_t *partitions, int timeout_ms) { return p_rd_kafka_committed(rk, partitions, timeout_ms); }
ck_topic_partition_list_t *ck_topic_partition_list_new(int size) { return p_rd_kafka_topic_partition_list_new(size); }
ck_topic_partition_t *ck_topic_partition_list_add(ck_topic_partition_list_t *list, const char *topic, int32_t partition) {
    return p_rd_kafka_topic_partition_list_add(list, topic, partition);
}
void ck_topic_partition_list_destroy(ck_topic_partition_list_t *list) { p_rd_kafka_topic_partition_list_destroy(list); }
int ck_query_watermark_offsets(ck_kafka_t *rk, const char *topic, int32_t partition, int64_t *low, int64_t *high, int timeout_ms) {
    return p_rd_kafka_query_watermark_offsets(rk, topic, partition, low, high, timeout_ms);
}
int ck_get_watermark_offsets(ck_kafka_t *rk, const char *topic, int32_t partition, int64_t *low, int64_t *high) {
    return p_rd_kafka_get_watermark_offsets(rk, topic, partition, low, high);
}
int ck_metadata(ck_kafka_t *rk, int all_topics, ck_topic_t *only, const ck_metadata_t **metadata, int timeout_ms) {
    return p_rd_kafka_metadata(rk, all_topics, only, metadata, timeout_ms);
}
void ck_metadata_destroy(const ck_metadata_t *metadata) { p_rd_kafka_metadata_destroy(metadata); }
ck_topic_t *ck_topic_new(ck_kafka_t *rk, const char *topic, void *conf) { return p_rd_kafka_topic_new(rk, topic, conf); }
void ck_topic_destroy(ck_topic_t *rkt) { p_rd_kafka_topic_destroy(rkt); }
int ck_produce(ck_topic_t *rkt, int32_t partition, const void *payload, size_t len, const void *key, size_t keylen) {
    if (p_rd_kafka_produce(rkt, partition, CK_MSG_F_COPY, (void *)payload, len, key, keylen, NULL) == 0) return 0;
    return p_rd_kafka_last_error();
}
int ck_poll(ck_kafka_t *rk, int timeout_ms) { return p_rd_kafka_poll(rk, timeout_ms); }
int ck_flush(ck_kafka_t *rk, int timeout_ms) { return p_rd_kafka_flush(rk, timeout_ms); }
int ck_outq_len(ck_kafka_t *rk) { return p_rd_kafka_outq_len(rk); }
int ck_last_error_code(void) { return p_rd_kafka_last_error(); }
ck_queue_t *ck_queue_get_consumer(ck_kafka_t *rk) { return p_rd_kafka_queue_get_consumer(rk); }
void ck_queue_destroy(ck_queue_t *q) { p_rd_kafka_queue_destroy(q); }
ssize_t ck_consume_batch_queue(ck_queue_t *q, int timeout_ms, ck_message_t **messages, size_t size) {
    return p_rd_kafka_consume_batch_queue(q, timeout_ms, messages, size);
}
