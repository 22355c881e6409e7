// Baselines for streamtop's Kafka source and `produce`, doing no work of their own:
//   kafka-drain LIBRDKAFKA BROKER TOPIC         reads every partition from its earliest offset to its end,
//                                               touching each message's bytes once; prints messages/s;
//   kafka-drain LIBRDKAFKA BROKER TOPIC FILE    sends FILE's lines, one message each, unkeyed, with the
//                                               settings streamtop produce uses; prints messages/s.
// Built by benchmarks/kafka.sh against streamtop's own librdkafka binding (Sources/CKafka).
#include "ckafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int produce(const char *broker, const char *topic, const char *file) {
    char err[512];
    static ck_delivery_counts_t counts;
    ck_conf_t *conf = ck_conf_new();
    ck_conf_set(conf, "bootstrap.servers", broker, err, sizeof err);
    ck_conf_set(conf, "linger.ms", "5", err, sizeof err);
    ck_conf_set(conf, "batch.num.messages", "10000", err, sizeof err);
    ck_conf_set(conf, "queue.buffering.max.kbytes", "262144", err, sizeof err);
    ck_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
    ck_conf_quiet_log(conf);
    ck_conf_count_deliveries(conf, &counts);
    ck_kafka_t *rk = ck_new(CK_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kafka-drain: %s\n", err);
        return 1;
    }
    ck_topic_t *t = ck_topic_new(rk, topic, NULL);
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long sent = 0;
    double start = now();
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n') n--;
        while (ck_produce(t, CK_PARTITION_UA, line, n, NULL, 0) == CK_ERR__QUEUE_FULL) ck_poll(rk, 10);
        if (++sent % 10000 == 0) ck_poll(rk, 0);
    }
    ck_flush(rk, 30000);
    double s = now() - start;
    printf("%ld messages sent, %llu delivered in %.2f s: %.0f messages/s\n", sent, (unsigned long long)counts.delivered, s, sent / s);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: kafka-drain LIBRDKAFKA BROKER TOPIC [FILE]\n");
        return 2;
    }
    char err[512];
    if (ck_load(argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "kafka-drain: %s\n", err);
        return 1;
    }
    if (argc == 5) return produce(argv[2], argv[3], argv[4]);
    ck_conf_t *conf = ck_conf_new();
    ck_conf_set(conf, "bootstrap.servers", argv[2], err, sizeof err);
    ck_conf_set(conf, "group.id", "kafka-drain", err, sizeof err);
    ck_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    ck_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
    ck_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
    ck_conf_set(conf, "fetch.queue.backoff.ms", "10", err, sizeof err);  /* as streamtop: no 1 s stalls */
    ck_conf_quiet_log(conf);
    ck_kafka_t *rk = ck_new(CK_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kafka-drain: %s\n", err);
        return 1;
    }
    const ck_metadata_t *md;
    ck_topic_t *t = ck_topic_new(rk, argv[3], NULL);
    if (ck_metadata(rk, 0, t, &md, 10000) != 0 || md->topic_cnt != 1) {
        fprintf(stderr, "kafka-drain: no metadata\n");
        return 1;
    }
    int parts = md->topics[0].partition_cnt;
    ck_topic_partition_list_t *list = ck_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++) ck_topic_partition_list_add(list, argv[3], p)->offset = CK_OFFSET_BEGINNING;
    ck_assign(rk, list);
    double start = now();
    long messages = 0, bytes = 0;
    unsigned sum = 0;
    int eof = 0;
    while (eof < parts) {
        ck_message_t *m = ck_consumer_poll(rk, 1000);
        if (!m) break;
        if (m->err == CK_ERR__PARTITION_EOF) {
            eof++;
        } else if (!m->err) {
            messages++;
            bytes += m->len;
            if (m->len) sum += ((unsigned char *)m->payload)[m->len - 1];
        }
        ck_message_destroy(m);
    }
    double s = now() - start;
    printf("%ld messages, %ld bytes in %.2f s: %.0f messages/s (checksum %u)\n", messages, bytes, s, messages / s, sum);
    return 0;
}
