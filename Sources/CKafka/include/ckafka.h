// The part of librdkafka's C API that streamtop uses, declared here so that building streamtop needs
// neither librdkafka nor its headers: the library is loaded at run time by ck_load (dlopen), and every
// ck_ function calls the symbol of the same name after the prefix. The types below are librdkafka's
// public, stable ABI (rdkafka.h), under a ck_ prefix.
#ifndef CKAFKA_H
#define CKAFKA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ck_kafka_s ck_kafka_t;
typedef struct ck_conf_s ck_conf_t;
typedef struct ck_topic_s ck_topic_t;
typedef struct ck_queue_s ck_queue_t;

enum { CK_PRODUCER = 0, CK_CONSUMER = 1 };
enum { CK_CONF_OK = 0 };
enum {
    CK_ERR_NO_ERROR = 0,
    CK_ERR__TRANSPORT = -195,
    CK_ERR__MSG_TIMED_OUT = -192,
    CK_ERR__PARTITION_EOF = -191,
    CK_ERR__UNKNOWN_PARTITION = -190,
    CK_ERR__UNKNOWN_TOPIC = -188,
    CK_ERR__ALL_BROKERS_DOWN = -187,
    CK_ERR__TIMED_OUT = -185,
    CK_ERR__QUEUE_FULL = -184,
    CK_ERR_UNKNOWN_TOPIC_OR_PART = 3,
};
enum { CK_OFFSET_BEGINNING = -2, CK_OFFSET_END = -1, CK_OFFSET_INVALID = -1001 };
enum { CK_PARTITION_UA = -1, CK_MSG_F_COPY = 0x2 };

typedef struct ck_message {
    int err;
    ck_topic_t *rkt;
    int32_t partition;
    void *payload;
    size_t len;
    void *key;
    size_t key_len;
    int64_t offset;
    void *_private;
} ck_message_t;

typedef struct ck_topic_partition {
    char *topic;
    int32_t partition;
    int64_t offset;
    void *metadata;
    size_t metadata_size;
    void *opaque;
    int err;
    void *_private;
} ck_topic_partition_t;

typedef struct ck_topic_partition_list {
    int cnt;
    int size;
    ck_topic_partition_t *elems;
} ck_topic_partition_list_t;

typedef struct ck_metadata_broker {
    int32_t id;
    char *host;
    int port;
} ck_metadata_broker_t;

typedef struct ck_metadata_partition {
    int32_t id;
    int err;
    int32_t leader;
    int replica_cnt;
    int32_t *replicas;
    int isr_cnt;
    int32_t *isrs;
} ck_metadata_partition_t;

typedef struct ck_metadata_topic {
    char *topic;
    int partition_cnt;
    ck_metadata_partition_t *partitions;
    int err;
} ck_metadata_topic_t;

typedef struct ck_metadata {
    int broker_cnt;
    ck_metadata_broker_t *brokers;
    int topic_cnt;
    ck_metadata_topic_t *topics;
    int32_t orig_broker_id;
    char *orig_broker_name;
} ck_metadata_t;

/// Delivery outcomes of a producer, counted by a callback run inside ck_poll / ck_flush on the
/// producing thread.
typedef struct ck_delivery_counts {
    uint64_t delivered;
    uint64_t failed;
    int last_error;
} ck_delivery_counts_t;

/// Loads librdkafka from `path` (a file name searched like dlopen does, or a path). Returns 0, or -1 with
/// the reason in `err`. Loading again after a success does nothing.
int ck_load(const char *path, char *err, size_t errlen);
/// Whether ck_load succeeded.
int ck_loaded(void);

const char *ck_err2str(int err);

ck_conf_t *ck_conf_new(void);
void ck_conf_destroy(ck_conf_t *conf);
int ck_conf_set(ck_conf_t *conf, const char *name, const char *value, char *errstr, size_t errlen);
/// Sends librdkafka's own log lines to a small buffer (read with ck_last_log) instead of stderr, which
/// the dashboard owns.
void ck_conf_quiet_log(ck_conf_t *conf);
/// Keeps the client's errors (a broker lost, all brokers down) for ck_take_error instead of stderr.
void ck_conf_keep_errors(ck_conf_t *conf);
/// The number of errors reported so far; the latest one's code and words go to `code` and `buf`.
uint64_t ck_take_error(int *code, char *buf, size_t len);
/// Counts delivery reports into `counts` (which must outlive the handle).
void ck_conf_count_deliveries(ck_conf_t *conf, ck_delivery_counts_t *counts);
/// The latest line librdkafka logged (empty if none), and how many it logged so far.
uint64_t ck_last_log(char *buf, size_t len);

ck_kafka_t *ck_new(int type, ck_conf_t *conf, char *errstr, size_t errlen);
void ck_destroy(ck_kafka_t *rk);
int ck_poll_set_consumer(ck_kafka_t *rk);
int ck_subscribe(ck_kafka_t *rk, const ck_topic_partition_list_t *topics);
int ck_assign(ck_kafka_t *rk, const ck_topic_partition_list_t *partitions);
int ck_assignment(ck_kafka_t *rk, ck_topic_partition_list_t **partitions);
int ck_consumer_close(ck_kafka_t *rk);
/// One message or error (benchmarks/kafka-drain.c; streamtop takes batches, ck_consume_batch_queue).
ck_message_t *ck_consumer_poll(ck_kafka_t *rk, int timeout_ms);
void ck_message_destroy(ck_message_t *m);
/// The consumer's queue (release with ck_queue_destroy), for ck_consume_batch_queue.
ck_queue_t *ck_queue_get_consumer(ck_kafka_t *rk);
void ck_queue_destroy(ck_queue_t *q);
/// Up to `size` messages (or errors), waiting up to `timeout_ms` for the first; -1 on error.
ssize_t ck_consume_batch_queue(ck_queue_t *q, int timeout_ms, ck_message_t **messages, size_t size);
int ck_commit(ck_kafka_t *rk, const ck_topic_partition_list_t *offsets, int async);
/// Fills each element's committed offset and metadata (the group's), waiting up to `timeout_ms`.
int ck_committed(ck_kafka_t *rk, ck_topic_partition_list_t *partitions, int timeout_ms);

ck_topic_partition_list_t *ck_topic_partition_list_new(int size);
ck_topic_partition_t *ck_topic_partition_list_add(ck_topic_partition_list_t *list, const char *topic, int32_t partition);
void ck_topic_partition_list_destroy(ck_topic_partition_list_t *list);

int ck_query_watermark_offsets(ck_kafka_t *rk, const char *topic, int32_t partition, int64_t *low, int64_t *high, int timeout_ms);
int ck_get_watermark_offsets(ck_kafka_t *rk, const char *topic, int32_t partition, int64_t *low, int64_t *high);
int ck_metadata(ck_kafka_t *rk, int all_topics, ck_topic_t *only, const ck_metadata_t **metadata, int timeout_ms);
void ck_metadata_destroy(const ck_metadata_t *metadata);

ck_topic_t *ck_topic_new(ck_kafka_t *rk, const char *topic, void *conf);
void ck_topic_destroy(ck_topic_t *rkt);
/// Produces one message (payload and key copied). Returns 0, or the error code (e.g. CK_ERR__QUEUE_FULL).
int ck_produce(ck_topic_t *rkt, int32_t partition, const void *payload, size_t len, const void *key, size_t keylen);
int ck_poll(ck_kafka_t *rk, int timeout_ms);
int ck_flush(ck_kafka_t *rk, int timeout_ms);
int ck_outq_len(ck_kafka_t *rk);
/// The error of the last failed call on this thread.
int ck_last_error_code(void);

#endif
