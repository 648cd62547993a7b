/* test_disc_web.c — what etcd and k8s discovery make of the answers they get: node names
 * from a /v3/kv/range answer (as etcd 3.4's gateway writes it) and from a Kubernetes
 * Endpoints object (as the API server returns it) with each address_type; bad entries are
 * skipped and reported, answers of the wrong shape refused. */
#include "test.h"
#include "cluster/discovery/web.h"
#include "core/err.h"

#include <string.h>

static st_jtok t[1024];
static st_disc_cfg cfg;
static st_dw_job job;

static const char *parse(const char *s)
{
    CHECK(st_json_parse(s, strlen(s), t, 1024) > 0);
    memset(&job, 0, sizeof job);
    job.cfg = &cfg;
    return s;
}

/* Recorded from etcd 3.4.23 (keys_only), plus a key with a bad name and one elsewhere. */
static const char RANGE[] =
    "{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":\"13668033151171901709\","
    "\"revision\":\"5\",\"raft_term\":\"2\"},\"kvs\":["
    "{\"key\":\"c3RhcmxpbmdjbC9zdGFybGluZ2NsL25vZGVzL3N0YXJsaW5nQDEyNy4wLjAuMg==\","
    "\"create_revision\":\"4\",\"mod_revision\":\"4\",\"version\":\"1\"},"
    "{\"key\":\"c3RhcmxpbmdjbC9zdGFybGluZ2NsL25vZGVzL3N0YXJsaW5nQDEyNy4wLjAuMw==\","
    "\"create_revision\":\"5\",\"mod_revision\":\"5\",\"version\":\"1\"},"
    "{\"key\":\"c3RhcmxpbmdjbC9zdGFybGluZ2NsL25vZGVzL2JhZA==\"},"
    "{\"key\":\"b3RoZXIvc3RhcmxpbmdjbC9ub2Rlcy9zdGFybGluZ0AxMjcuMC4wLjk=\"},"
    "{\"key\":\"not base64!\"}],\"count\":\"5\"}";

static void test_etcd_range(void)
{
    const char *dir = "starlingcl/starlingcl/nodes/";
    const char *s = parse(RANGE);
    CHECK_EQ(st_etcd_names(&job, s, t, dir), 0);
    CHECK_EQ(job.n, 2);
    CHECK_STR(job.names[0], "starling@127.0.0.2");
    CHECK_STR(job.names[1], "starling@127.0.0.3");
    CHECK(strstr(job.err, "ignored key \"starlingcl/starlingcl/nodes/bad\"") != NULL);
    CHECK(strstr(job.err, "ignored key \"other/") != NULL);
    /* no key at all: etcd leaves kvs out */
    s = parse("{\"header\":{\"revision\":\"5\"}}");
    CHECK_EQ(st_etcd_names(&job, s, t, dir), 0);
    CHECK_EQ(job.n, 0);
    CHECK_STR(job.err, "");
    s = parse("{\"kvs\":{}}");
    CHECK(st_etcd_names(&job, s, t, dir) < 0);
    s = parse("{\"kvs\":[{\"value\":\"eA==\"}]}");
    CHECK(st_etcd_names(&job, s, t, dir) < 0);
}

/* As `kubectl get endpoints starling -o json` shows it (managedFields left out). */
static const char ENDPOINTS[] =
    "{\"kind\":\"Endpoints\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"starling\","
    "\"namespace\":\"mq\",\"uid\":\"0c1d2f8e-6a49-4b0e-9a57-3f7a0a6f2c11\","
    "\"resourceVersion\":\"48213\",\"creationTimestamp\":\"2024-05-02T09:14:07Z\","
    "\"labels\":{\"app.kubernetes.io/name\":\"starling\"},\"annotations\":{"
    "\"endpoints.kubernetes.io/last-change-trigger-time\":\"2024-05-02T09:15:31Z\"}},"
    "\"subsets\":[{\"addresses\":["
    "{\"ip\":\"10.244.1.7\",\"hostname\":\"starling-0\",\"nodeName\":\"worker-1\","
    "\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"mq\",\"name\":\"starling-0\","
    "\"uid\":\"5b0e5f0c-1b2e-4d8e-8f51-0f6c2d0b9a01\",\"resourceVersion\":\"48190\"}},"
    "{\"ip\":\"10.244.2.9\",\"hostname\":\"starling-1\",\"nodeName\":\"worker-2\","
    "\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"mq\",\"name\":\"starling-1\","
    "\"uid\":\"9e3c7a52-77d4-4f0b-b3a4-6a9a4a2e1c02\",\"resourceVersion\":\"48201\"}}],"
    "\"notReadyAddresses\":[{\"ip\":\"10.244.3.4\",\"hostname\":\"starling-2\","
    "\"nodeName\":\"worker-3\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"mq\","
    "\"name\":\"starling-2\",\"uid\":\"c4d1f2a3-2c3b-4e5f-8a9b-0c1d2e3f4a03\","
    "\"resourceVersion\":\"48212\"}}],"
    "\"ports\":[{\"name\":\"mqtt\",\"port\":1883,\"protocol\":\"TCP\"},"
    "{\"name\":\"cluster\",\"port\":4370,\"protocol\":\"TCP\"}]},"
    "{\"addresses\":[{\"ip\":\"10.244.1.7\",\"hostname\":\"starling-0\"},{\"ip\":\"10.244.4.2\"}],"
    "\"ports\":[{\"name\":\"ws\",\"port\":8083,\"protocol\":\"TCP\"}]}]}";

static void k8s_setup(int addr)
{
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.node_name, "starling@10.244.1.7");
    strcpy(cfg.k8s_service, "starling");
    strcpy(cfg.k8s_namespace, "mq");
    strcpy(cfg.k8s_suffix, "svc.cluster.local");
    cfg.k8s_addr = addr;
}

static void test_k8s_ip(void)
{
    k8s_setup(ST_K8S_IP);
    const char *s = parse(ENDPOINTS);
    CHECK_EQ(st_k8s_names(&job, s, t), 0);
    CHECK_EQ(job.n, 4); /* the ready, the not ready, once each */
    CHECK_STR(job.names[0], "starling@10.244.1.7");
    CHECK_STR(job.names[1], "starling@10.244.2.9");
    CHECK_STR(job.names[2], "starling@10.244.3.4");
    CHECK_STR(job.names[3], "starling@10.244.4.2");
    CHECK_STR(job.err, "");
}

static void test_k8s_dns_and_hostname(void)
{
    k8s_setup(ST_K8S_DNS);
    strcpy(cfg.k8s_suffix, "pod.cluster.local");
    const char *s = parse(ENDPOINTS);
    CHECK_EQ(st_k8s_names(&job, s, t), 0);
    CHECK_EQ(job.n, 4);
    CHECK_STR(job.names[0], "starling@10-244-1-7.mq.pod.cluster.local");
    CHECK_STR(job.names[2], "starling@10-244-3-4.mq.pod.cluster.local");
    k8s_setup(ST_K8S_HOSTNAME);
    s = parse(ENDPOINTS);
    CHECK_EQ(st_k8s_names(&job, s, t), 0);
    CHECK_EQ(job.n, 3); /* 10.244.4.2 has no hostname */
    CHECK_STR(job.names[0], "starling@starling-0.starling.mq.svc.cluster.local");
    CHECK_STR(job.names[1], "starling@starling-1.starling.mq.svc.cluster.local");
    CHECK_STR(job.names[2], "starling@starling-2.starling.mq.svc.cluster.local");
    CHECK(strstr(job.err, "without a hostname") != NULL);
}

static void test_k8s_other_answers(void)
{
    k8s_setup(ST_K8S_IP);
    /* a service without endpoints yet */
    const char *s = parse("{\"kind\":\"Endpoints\",\"apiVersion\":\"v1\",\"metadata\":"
                          "{\"name\":\"starling\",\"namespace\":\"mq\"}}");
    CHECK_EQ(st_k8s_names(&job, s, t), 0);
    CHECK_EQ(job.n, 0);
    s = parse("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
              "\"message\":\"endpoints \\\"starling\\\" not found\",\"reason\":\"NotFound\","
              "\"details\":{\"name\":\"starling\",\"kind\":\"endpoints\"},\"code\":404}");
    CHECK(st_k8s_names(&job, s, t) < 0);
    s = parse("{\"kind\":\"Endpoints\",\"subsets\":{}}");
    CHECK(st_k8s_names(&job, s, t) < 0);
    s = parse("{\"subsets\":[{\"addresses\":\"10.0.0.1\"}]}");
    CHECK(st_k8s_names(&job, s, t) < 0);
    s = parse("{\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1 x\"},{\"ip\":7},"
              "{\"ip\":\"10.0.0.2\"}]}]}");
    CHECK_EQ(st_k8s_names(&job, s, t), 0);
    CHECK_EQ(job.n, 1);
    CHECK_STR(job.names[0], "starling@10.0.0.2");
    CHECK(strstr(job.err, "\"starling@10.0.0.1 x\" is not a node name") != NULL);
}

static void test_node_names(void)
{
    CHECK(st_dw_node_name_ok("starling@127.0.0.2"));
    CHECK(st_dw_node_name_ok("emqx@fd00::1"));
    CHECK(st_dw_node_name_ok("a_b-c.d@starling-0.starling.mq.svc.cluster.local"));
    CHECK(!st_dw_node_name_ok("starling"));
    CHECK(!st_dw_node_name_ok("@127.0.0.1"));
    CHECK(!st_dw_node_name_ok("starling@"));
    CHECK(!st_dw_node_name_ok("star ling@h"));
    CHECK(!st_dw_node_name_ok("s@h/x"));
}

int main(void)
{
    RUN(test_etcd_range);
    RUN(test_k8s_ip);
    RUN(test_k8s_dns_and_hostname);
    RUN(test_k8s_other_answers);
    RUN(test_node_names);
    return TEST_END();
}
