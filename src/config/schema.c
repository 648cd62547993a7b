/* schema.c — every config key Starling knows, as one table, plus the converters that turn a
 * HOCON node into a typed value. The table is the single source of truth: validation, the
 * defaults, the getters' type checks and docs/config.md are all driven by it, so adding a
 * key is adding one row. Defaults are written as HOCON text and go through the same
 * converters as user values (a unit test checks every default converts). */
#include "config/schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NR INT64_MIN, INT64_MAX
#define POS 1, INT64_MAX
#define NONNEG 0, INT64_MAX

/* clang-format off */
#define SSL_OPTIONS(P) \
    {P ".ssl_options.certfile", ST_T_STRING, 0, "\"\"", NR, NULL, "The server's certificate (PEM; a chain: the certificate first, then intermediates). Required."}, \
    {P ".ssl_options.keyfile", ST_T_STRING, 0, "\"\"", NR, NULL, "The server's private key (PEM). Required."}, \
    {P ".ssl_options.password", ST_T_STRING, 0, "\"\"", NR, NULL, "The password of an encrypted keyfile."}, \
    {P ".ssl_options.cacertfile", ST_T_STRING, 0, "\"\"", NR, NULL, "CA certificates (PEM) that client certificates are checked against; needed by verify = verify_peer."}, \
    {P ".ssl_options.verify", ST_T_ENUM, 0, "verify_none", NR, "verify_peer|verify_none", "verify_peer: ask clients for a certificate and check it against cacertfile (a bad one is refused); verify_none: ask for none."}, \
    {P ".ssl_options.fail_if_no_peer_cert", ST_T_BOOL, 0, "false", NR, NULL, "With verify = verify_peer: refuse a client that sends no certificate."}, \
    {P ".ssl_options.depth", ST_T_INT, 0, "10", 1, 100, NULL, "How many intermediate CAs a client's chain may have."}, \
    {P ".ssl_options.versions", ST_T_STRLIST, 0, "[\"tlsv1.3\", \"tlsv1.2\"]", NR, NULL, "TLS versions offered: tlsv1.3, tlsv1.2 (older ones are refused)."}, \
    {P ".ssl_options.ciphers", ST_T_STRLIST, 0, "[]", NR, NULL, "Cipher suites, OpenSSL names (TLS 1.3 ones start with TLS_); empty: OpenSSL's defaults."}, \
    {P ".ssl_options.honor_cipher_order", ST_T_BOOL, 0, "true", NR, NULL, "Choose the cipher by the server's order, not the client's."}, \
    {P ".ssl_options.handshake_timeout", ST_T_DURATION, 0, "15s", 100, 3600000, NULL, "A connection that has not finished its TLS handshake this long after it opened is closed."},
#define PEER_CERT(P) \
    {P ".peer_cert_as_username", ST_T_ENUM, 0, "disabled", NR, "disabled|cn|dn|crt|pem|md5", "Take the client's username from its certificate: cn (common name), dn (subject), crt (DER, base64), pem, md5 (of the DER, hex); disabled: from CONNECT."}, \
    {P ".peer_cert_as_clientid", ST_T_ENUM, 0, "disabled", NR, "disabled|cn|dn|crt|pem|md5", "Take the client id from the client's certificate (as peer_cert_as_username); disabled: from CONNECT."},
#define LISTENER(P, WHAT, BIND, PROXY) \
    {P ".enable", ST_T_BOOL, 0, "true", NR, NULL, "Start this " WHAT " listener."}, \
    {P ".bind", ST_T_BIND, 0, BIND, NR, NULL, "Address to listen on; a bare port means 0.0.0.0:port. A listener given as a port or an address (`listeners.tcp.default = 1883`, the seed documents' form) is short for its bind."}, \
    {P ".max_connections", ST_T_INT, ST_F_INF, "infinity", POS, NULL, "Connections this listener accepts at most."}, \
    {P ".proxy_protocol", ST_T_BOOL, 0, "false", NR, NULL, PROXY}, \
    {P ".proxy_protocol_timeout", ST_T_DURATION, 0, "3s", 100, 3600000, NULL, "How long a connection may take to send its PROXY protocol header."}, \
    {P ".max_conn_rate", ST_T_STRING, 0, "infinity", NR, NULL, "New connections this listener takes at most, as EMQX writes it: \"1000/s\", \"100/10s\", \"60/m\", or infinity. Past it the listener stops accepting until the rate allows more (the connections wait in the kernel's backlog); it is shared out among the workers."}, \
    {P ".messages_rate", ST_T_STRING, 0, "infinity", NR, NULL, "PUBLISH packets each client of this listener may send, as EMQX writes it: \"100/s\", \"1000/10s\", or infinity. Past it the client's socket is not read until the rate allows more: a fast publisher is slowed, not disconnected, and nothing is lost."}, \
    {P ".bytes_rate", ST_T_STRING, 0, "infinity", NR, NULL, "Bytes each client of this listener may send: \"1MB/s\", \"100KB/10s\", or infinity. Past it the client's socket is not read until the rate allows more (as messages_rate)."}, \
    {P ".access_rules", ST_T_STRLIST, 0, "[\"allow all\"]", NR, NULL, "Who may open a connection, in order, the first rule that covers the address decides (none: let in): \"allow 10.0.0.0/8\", \"deny 192.168.1.7\", \"deny all\" (EMQX's form). A refused connection is closed at once, before TLS or MQTT."}, \
    {P ".enable_authn", ST_T_ENUM, 0, "true", NR, "true|false|quick_deny_anonymous", "true: clients of this listener go through the authentication chain; false: they skip it (everyone is let in); quick_deny_anonymous: a CONNECT without a username is refused (0x87) before the chain."}
#define WEBSOCKET(P) \
    {P ".websocket.mqtt_path", ST_T_STRING, 0, "\"/mqtt\"", NR, NULL, "The path MQTT is served on; an upgrade request for another path gets 404."}, \
    {P ".websocket.max_frame_size", ST_T_BYTESIZE, ST_F_INF, "infinity", POS, NULL, "The largest WebSocket frame a client may send (a bigger one closes the connection with 1002)."}, \
    {P ".websocket.proxy_address_header", ST_T_STRING, 0, "x-forwarded-for", NR, NULL, "A reverse proxy's header with the client's address (the first one of a list); \"\" : none. A client that reaches the listener directly can set it too: clear it when there is no proxy in front."}, \
    {P ".websocket.proxy_port_header", ST_T_STRING, 0, "x-forwarded-port", NR, NULL, "A reverse proxy's header with the client's port; \"\" : none."},
#define AUTHN(P) \
    {P ".mechanism", ST_T_STRING, 0, "\"\"", NR, NULL, "password_based, jwt, or scram (MQTT 5 enhanced authentication, SCRAM-SHA-256/512, with backend = built_in_database). Required."}, \
    {P ".backend", ST_T_STRING, 0, "\"\"", NR, NULL, "With password_based: built_in_database (users kept by the cluster) or http. Required."}, \
    {P ".password_hash_salt", ST_T_STRING, 0, "\"\"", NR, NULL, "built_in_database: this authenticator's own authentication.password_hash_salt (HOCON cannot hold both `authentication = [...]` and `authentication.password_hash_salt`: the later replaces the other). \"\": the global one."}, \
    {P ".algorithm", ST_T_ENUM, 0, "hmac-based", NR, "hmac-based|public-key|sha256|sha512", "jwt: how tokens are signed: an HMAC secret (HS256/384/512) or a public key (RS256/384/512, ES256/384/512). scram: sha256 (SCRAM-SHA-256, also the default) or sha512 (SCRAM-SHA-512)."}, \
    {P ".iteration_count", ST_T_INT, 0, "4096", 1, 1000000, NULL, "scram: PBKDF2 iterations of the users' keys (made when a user is added: the client does them too at each login)."}, \
    {P ".secret", ST_T_STRING, 0, "\"\"", NR, NULL, "jwt, hmac-based: the secret. Required."}, \
    {P ".secret_base64_encoded", ST_T_BOOL, 0, "false", NR, NULL, "jwt: the secret is written in base64."}, \
    {P ".public_key", ST_T_STRING, 0, "\"\"", NR, NULL, "jwt, public-key: the PEM public key, or a PEM file's path. Required."}, \
    {P ".use_jwks", ST_T_BOOL, 0, "false", NR, NULL, "jwt: fetch the keys from a JWKS endpoint (not built: true is refused at start)."}, \
    {P ".from", ST_T_ENUM, 0, "password", NR, "password|username", "jwt: which CONNECT field carries the token."}, \
    {P ".verify_claims.<claim>", ST_T_STRING, 0, "\"\"", NR, NULL, "jwt: a claim the token must have with this value; ${clientid} and ${username} stand for the client's (at most 8)."}, \
    {P ".method", ST_T_ENUM, 0, "post", NR, "get|post", "backend = http: how the service is asked (GET: the body's fields go in the query)."}, \
    {P ".url", ST_T_STRING, 0, "\"\"", NR, NULL, "backend = http: the service's URL (http:// or https://); placeholders ${username}, ${clientid}, ${password}, ${peerhost}, ${cert_common_name} are URL-encoded. Required."}, \
    {P ".headers.<name>", ST_T_STRING, 0, "\"\"", NR, NULL, "backend = http: a request header (at most 8); content-type application/x-www-form-urlencoded sends the body as a form, else JSON."}, \
    {P ".body.<name>", ST_T_STRING, 0, "\"\"", NR, NULL, "backend = http: a field of the request's body (at most 8), with placeholders, e.g. username = \"${username}\"."}, \
    {P ".request_timeout", ST_T_DURATION, 0, "5s", 10, 600000, NULL, "backend = http: a request that takes longer is given up (the next authenticator decides)."}, \
    {P ".connect_timeout", ST_T_DURATION, 0, "15s", 10, 600000, NULL, "backend = http: connecting to the service may take this long."}, \
    {P ".pool_size", ST_T_INT, 0, "8", 1, 1024, NULL, "backend = http: accepted for EMQX's configs; the auth threads share one pool of kept connections."}, \
    {P ".enable_pipelining", ST_T_INT, 0, "100", 1, 100000, NULL, "backend = http: accepted for EMQX's configs; not used."}, \
    {P ".enable", ST_T_BOOL, 0, "true", NR, NULL, "false: the chain skips this authenticator."}, \
    {P ".user_id_type", ST_T_ENUM, 0, "username", NR, "username|clientid", "built_in_database: a client is looked up by its username or by its client id."}, \
    {P ".password_hash_algorithm.name", ST_T_ENUM, 0, "sha256", NR, "plain|md5|sha|sha256|sha512|bcrypt|pbkdf2", "How passwords are hashed (EMQX's algorithms and parameters: an EMQX export imports as it is)."}, \
    {P ".password_hash_algorithm.salt_position", ST_T_ENUM, 0, "prefix", NR, "disable|prefix|suffix", "plain, md5, sha, sha256, sha512: the salt before the password, after it, or none."}, \
    {P ".password_hash_algorithm.salt_rounds", ST_T_INT, 0, "10", 0, 31, NULL, "bcrypt: the cost (2^rounds), clamped to 5..10 as EMQX does."}, \
    {P ".password_hash_algorithm.mac_fun", ST_T_ENUM, 0, "sha256", NR, "sha|sha224|sha256|sha384|sha512", "pbkdf2: the HMAC's hash."}, \
    {P ".password_hash_algorithm.iterations", ST_T_INT, 0, "4096", 1, 100000000, NULL, "pbkdf2: iterations."}, \
    {P ".password_hash_algorithm.dk_length", ST_T_INT, 0, "0", 0, 128, NULL, "pbkdf2: bytes of output; 0: the hash's size."}, \
    {P ".bootstrap_file", ST_T_STRING, 0, "\"\"", NR, NULL, "built_in_database: users to create at start (.csv or .json, EMQX's formats); a user that exists already is left as it is. \"\": none."}, \
    {P ".bootstrap_type", ST_T_ENUM, 0, "plain", NR, "plain|hash", "plain: the file has user_id,password,is_superuser; hash: user_id,password_hash,salt,is_superuser (hashed with password_hash_algorithm)."},
static const struct st_schema_key keys[] = {
    {"node.name", ST_T_STRING, ST_F_NODENAME, "\"starling@127.0.0.1\"", NR, NULL, "Node name, name@host; the host part is where peers dial."},
    {"node.cookie", ST_T_STRING, 0, "starlingsecretcookie", NR, NULL, "Shared secret that nodes of one cluster must agree on."},
    {"node.data_dir", ST_T_STRING, 0, "data", NR, NULL, "Directory for persistent data (durable sessions, retained messages, cluster state)."},
    {"node.role", ST_T_ENUM, 0, "core", NR, "core|replicant", "core nodes vote in the control plane; replicants follow a core."},
    {"node.worker_threads", ST_T_INT, 0, "0", 0, 1024, NULL, "Worker threads with their own event loop; 0 = one per CPU core."},

    {"persistence.enable", ST_T_BOOL, 0, "true", NR, NULL, "Durable sessions (docs/durability.md): sessions with a non-zero expiry, their subscriptions, QoS 2 ids and QoS 1/2 messages (queued or in flight) are kept in node.data_dir/durable and come back after a restart or a crash. Clean sessions (expiry 0) never touch the store."},
    {"durable_sessions.enable", ST_T_BOOL, 0, "true", NR, NULL, "EMQX's name for persistence.enable, used when persistence.enable is not set (both set and different: the node refuses to start)."},
    {"persistence.wal_sync_interval", ST_T_DURATION, 0, "1000ms", 0, 3600000, NULL, "0: a QoS 1/2 PUBLISH that goes to a durable session is acknowledged only once it is on disk (group commit: one fsync covers everything that arrived meanwhile). N: acknowledged at once and written to disk every N; a crash of the node or the machine loses at most the last N of acknowledged messages."},
    {"persistence.shared_client_session", ST_T_BOOL, 0, "false", NR, NULL, "Keep this node's durable store also on other members (persistence.replicas of them, docs/durability.md §6): with wal_sync_interval 0 an acknowledgement waits for their copies too. Taking the sessions back from a copy (a node whose disk was lost) is not built yet, and the node says so at start."},
    {"persistence.replicas", ST_T_INT, 0, "1", 1, 8, NULL, "With persistence.shared_client_session: how many other members keep a copy of this node's durable store (docs/durability.md §6)."},
    {"persistence.shared_client_state", ST_T_BOOL, 0, "false", NR, NULL, "Accepted for the seed documents' configs: a session's state is part of the session here (persistence.shared_client_session); it has no effect of its own."},
    {"mnesia.max_fragment_size", ST_T_INT, 0, "1024", 0, 1073741824, NULL, "Accepted for EMQX configs (the seed documents set it); Starling has no Mnesia: not used."},
    {"persistence.max_size", ST_T_BYTESIZE, 0, "16GB", 1048576, 1099511627776, NULL, "The durable store's largest size on disk. Past it, or when the disk is full, durable writes are refused (PUBACK/PUBREC 0x97 in MQTT 5; the connection is closed in 3.x) until space is freed; other traffic goes on."},

    {"allow_anonymous", ST_T_BOOL, 0, "true", NR, NULL, "Clients that send neither username nor password. Not set: let in when no authenticator is configured (as EMQX 5 does), refused when there is a chain. true: let in even with a chain, once no authenticator has decided (EMQX 4's meaning). false: never. The node warns at start when a listener that is not on loopback lets anonymous clients in."},
    {"authentication.password_hash_salt", ST_T_STRING, 0, "\"\"", NR, NULL, "A secret mixed into every password of the built-in databases before it is hashed (prefixed to the password), so a stolen table is useless without it. \"\": none. It must be the same on every node, and cannot change without resetting the passwords."},
    AUTHN("authentication.<#>")

    {"cluster.name", ST_T_STRING, 0, "starlingcl", NR, NULL, "Cluster name; nodes only join a cluster of the same name."},
    {"cluster.discovery_strategy", ST_T_ENUM, 0, "manual", NR, "manual|static|dns|etcd|k8s", "How nodes find each other."},
    {"cluster.static.seeds", ST_T_STRLIST, 0, "[]", NR, NULL, "Node names to join when discovery_strategy = static."},
    {"cluster.dns.name", ST_T_STRING, 0, "localhost", NR, NULL, "discovery_strategy = dns: the name whose A (or AAAA) records are the nodes' addresses; each becomes <this node's name part>@<address>."},
    {"cluster.dns.record_type", ST_T_ENUM, 0, "a", NR, "a|aaaa|srv", "Record type looked up. a/aaaa: each address is a node, <name part>@<address>; srv: each target host is a node, <name part>@<target> (its address from the additional records, else the system resolver; the port is ignored)."},
    {"cluster.dns.servers", ST_T_STRLIST, 0, "[]", NR, NULL, "DNS servers to ask, \"ip\" or \"ip:port\" (default: the nameservers of /etc/resolv.conf)."},
    {"cluster.etcd.server", ST_T_STRLIST, 0, "[]", NR, NULL, "discovery_strategy = etcd: etcd client URLs (http:// or https://), a list or a comma-separated string; the v3 JSON gateway is used, servers are tried in turn."},
    {"cluster.etcd.prefix", ST_T_STRING, 0, "starlingcl", NR, NULL, "Key prefix in etcd: each node registers <prefix>/<cluster.name>/nodes/<node.name> and lists the keys under <prefix>/<cluster.name>/nodes/."},
    {"cluster.etcd.node_ttl", ST_T_DURATION, 0, "1m", 1000, 86400000, NULL, "TTL of the node's etcd lease (kept alive every third of it): the key of a node that died goes away this long after."},
    {"cluster.k8s.apiserver", ST_T_STRING, 0, "\"https://kubernetes.default.svc:443\"", NR, NULL, "discovery_strategy = k8s: the Kubernetes API server (http:// or https://); the service account's token and CA are used when present."},
    {"cluster.k8s.service_name", ST_T_STRING, 0, "starling", NR, NULL, "The service whose endpoints (ready or not) are the nodes."},
    {"cluster.k8s.address_type", ST_T_ENUM, 0, "ip", NR, "ip|dns|hostname", "How an endpoint becomes a node name: ip = <name part>@<ip>; dns = <name part>@<ip with dashes>.<namespace>.<suffix>; hostname = <name part>@<hostname>.<service_name>.<namespace>.<suffix>."},
    {"cluster.k8s.app_name", ST_T_STRING, 0, "\"\"", NR, NULL, "EMQX 4's key (EMQX_K8S_APP_NAME in the seed documents): the name part of the nodes' names, <app_name>@<address>. Empty (the default): node.name's name part. Set, it must be node.name's name part (a node named otherwise would not find itself among the names)."},
    {"cluster.k8s.namespace", ST_T_STRING, 0, "default", NR, NULL, "The namespace of the service."},
    {"cluster.k8s.suffix", ST_T_STRING, 0, "pod.local", NR, NULL, "Domain suffix of node names with address_type dns or hostname."},
    {"cluster.listen", ST_T_BIND, 0, "\"0.0.0.0:4370\"", NR, NULL, "Address for node-to-node traffic."},
    {"cluster.proto_dist", ST_T_ENUM, 0, "inet_tcp", NR, "inet_tcp|inet6_tcp|inet_tls|inet6_tls", "Node-to-node transport (EMQX's key). inet_tcp: plain TCP. inet_tls: mutual TLS with cluster.ssl_options on every control link, Raft stream and data lane, the cookie handshake inside it; every node of the cluster must say the same. The address family follows cluster.listen and the node names: inet6_tcp and inet6_tls are their inet_ twins."},
    {"cluster.ssl_options.certfile", ST_T_STRING, 0, "\"\"", NR, NULL, "inet_tls: this node's certificate (PEM; a chain: the certificate first, then intermediates), shown to the nodes it dials and to those that dial it. Required."},
    {"cluster.ssl_options.keyfile", ST_T_STRING, 0, "\"\"", NR, NULL, "inet_tls: this node's private key (PEM). Required."},
    {"cluster.ssl_options.password", ST_T_STRING, 0, "\"\"", NR, NULL, "The password of an encrypted keyfile."},
    {"cluster.ssl_options.cacertfile", ST_T_STRING, 0, "\"\"", NR, NULL, "inet_tls: CA certificates (PEM) the other nodes' certificates are checked against, both ways (a node without a certificate of this CA is refused). Required."},
    {"cluster.ssl_options.depth", ST_T_INT, 0, "10", 1, 100, NULL, "How many intermediate CAs a node's chain may have."},
    {"cluster.ssl_options.versions", ST_T_STRLIST, 0, "[\"tlsv1.3\", \"tlsv1.2\"]", NR, NULL, "TLS versions offered between nodes: tlsv1.3, tlsv1.2."},
    {"cluster.ssl_options.ciphers", ST_T_STRLIST, 0, "[]", NR, NULL, "Cipher suites between nodes, OpenSSL names (TLS 1.3 ones start with TLS_); empty: OpenSSL's defaults."},
    {"cluster.raft.election_timeout", ST_T_DURATION, 0, "1s", 100, 60000, NULL, "Raft: a follower that hears no leader for this long (randomised up to twice) starts an election."},
    {"cluster.raft.heartbeat_timeout", ST_T_DURATION, 0, "100ms", 10, 10000, NULL, "Raft: how often the leader sends heartbeats; must be below election_timeout."},
    {"cluster.raft.snapshot_threshold", ST_T_INT, 0, "1024", 16, 1048576, NULL, "Raft: entries applied between snapshots of the control plane's tables."},
    {"cluster.raft.snapshot_trailing", ST_T_INT, 0, "128", 0, 1048576, NULL, "Raft: entries kept behind a snapshot, for followers slightly behind."},
    {"cluster.link_timeout", ST_T_DURATION, 0, "5s", 500, 600000, NULL, "A link to a peer that has been silent this long is dropped (heartbeats go every fifth of it)."},
    {"cluster.registry_mode", ST_T_ENUM, 0, "available", NR, "strict|available", "A node that cannot reach a majority of the cluster (a minority side of a partition): strict refuses new CONNECTs with 'server unavailable' (0x88, 3.1.1 code 3); available accepts them, and when the partition heals the newest connection of a client id wins."},
    {"cluster.retained_tombstone_ttl", ST_T_DURATION, 0, "24h", 1000, 31536000000, NULL, "A deleted retained message leaves a tombstone so that an older copy arriving later from another node cannot bring it back; tombstones older than this are forgotten."},
    {"cluster.evacuation_timeout", ST_T_DURATION, 0, "30s", 0, 3600000, NULL, "A node that stops (or leaves the cluster) first hands its sessions (subscriptions, messages in flight and queued) to the other members and sends its MQTT 5 clients DISCONNECT 0x9C (use another server); it stops waiting for that after this long. 0: sessions are not handed over."},
    {"cluster.node_down_timeout", ST_T_DURATION, 0, "30s", 1000, 86400000, NULL, "The Raft leader declares a member down (its routes are removed everywhere, but for its plain ones with persistence.shared_client_session; what is queued for it stays for its return) when it has had no link to it for this long."},
    {"cluster.forward_ack", ST_T_BOOL, 0, "true", NR, NULL, "A QoS 1/2 publisher's PUBACK/PUBREC waits until every node the message was forwarded to has it, so a broken link never loses an acknowledged message."},
    {"cluster.forward_ack_timeout", ST_T_DURATION, 0, "5s", 100, 600000, NULL, "Acks stop waiting for a node whose data link has been down this long (the messages stay buffered and are resent if it comes back)."},
    {"cluster.forward_buffer_high", ST_T_BYTESIZE, 0, "16MB", 65536, 4294967295, NULL, "Bytes of messages buffered per data lane (one per worker and peer) above which QoS 0 messages to that peer are dropped and counted."},

    {"log.level", ST_T_ENUM, 0, "warning", NR, "debug|info|notice|warning|error|critical", "Lowest severity that is logged."},
    {"log.console.enable", ST_T_BOOL, 0, "true", NR, NULL, "Log to standard error."},
    {"log.file.enable", ST_T_BOOL, 0, "false", NR, NULL, "Log to a file."},
    {"log.file.path", ST_T_STRING, 0, "log/starling.log", NR, NULL, "Log file path (relative to the working directory)."},

    LISTENER("listeners.tcp.<name>", "MQTT/TCP", "\"0.0.0.0:1883\"", "Expect a PROXY protocol v1/v2 header from a load balancer (haproxy send-proxy / send-proxy-v2) before MQTT: the client's address is the header's. A connection without a valid header is closed."),
    AUTHN("listeners.tcp.<name>.authentication.<#>")

    {"mqtt.max_packet_size", ST_T_BYTESIZE, 0, "1MB", 1, 268435456, NULL, "Largest MQTT packet accepted."},
    {"mqtt.max_clientid_len", ST_T_INT, 0, "65535", 23, 65535, NULL, "Longest client identifier accepted."},
    {"mqtt.max_topic_levels", ST_T_INT, 0, "128", 1, 65535, NULL, "Most levels a topic name or filter may have."},
    {"mqtt.max_qos_allowed", ST_T_INT, 0, "2", 0, 2, NULL, "Highest QoS the broker grants."},
    {"mqtt.max_topic_alias", ST_T_INT, 0, "65535", 0, 65535, NULL, "Topic Alias Maximum offered to MQTT 5 clients."},
    {"mqtt.retain_available", ST_T_BOOL, 0, "true", NR, NULL, "Support retained messages."},
    {"mqtt.wildcard_subscription", ST_T_BOOL, 0, "true", NR, NULL, "Allow subscriptions with + and # wildcards."},
    {"mqtt.shared_subscription", ST_T_BOOL, 0, "true", NR, NULL, "Allow $share/ and $queue/ subscriptions."},
    {"mqtt.shared_subscription_strategy", ST_T_ENUM, 0, "round_robin", NR, "random|round_robin|round_robin_per_group|sticky|local|hash_topic|hash_clientid", "How a shared subscription picks a member."},
    {"mqtt.ignore_loop_deliver", ST_T_BOOL, 0, "false", NR, NULL, "Do not deliver a client's own messages back to it (No Local for MQTT 3)."},
    {"mqtt.strict_mode", ST_T_BOOL, 0, "false", NR, NULL, "Accepted for EMQX configs; Starling always checks packets strictly (UTF-8, reserved bits), whatever the value."},
    {"mqtt.response_information", ST_T_STRING, 0, "\"\"", NR, NULL, "Response Information sent to MQTT 5 clients that ask; empty = none."},
    {"mqtt.server_keepalive", ST_T_INT, ST_F_DISABLED, "disabled", 1, 65535, NULL, "Keep alive (seconds) imposed on MQTT 5 clients; disabled = use the client's."},
    {"mqtt.keepalive_multiplier", ST_T_FLOAT, 0, "1.5", 1, 1000, NULL, "A client is dropped after keepalive x multiplier without a packet."},
    {"mqtt.retry_interval", ST_T_DURATION, ST_F_INF, "infinity", POS, NULL, "Resend unacknowledged QoS 1/2 messages after this long."},
    {"mqtt.max_inflight", ST_T_INT, 0, "32", 1, 65535, NULL, "QoS 1/2 messages in flight to one client."},
    {"mqtt.max_mqueue_len", ST_T_INT, ST_F_INF | ST_F_ZERO_INF, "1000", NONNEG, NULL, "Messages queued per session beyond its inflight window: past this the oldest is dropped while the client is offline or has stopped reading; a client that is reading slows its publishers instead (flow control) and loses nothing; past half of it, publishers pause. 0 = unlimited."},
    {"mqtt.mqueue_store_qos0", ST_T_BOOL, 0, "true", NR, NULL, "Queue QoS 0 messages too."},
    {"mqtt.max_awaiting_rel", ST_T_INT, ST_F_INF, "100", NONNEG, NULL, "Incoming QoS 2 messages awaiting PUBREL per client."},
    {"mqtt.await_rel_timeout", ST_T_DURATION, 0, "300s", NONNEG, NULL, "Drop an incoming QoS 2 message whose PUBREL has not come after this long."},
    {"mqtt.session_expiry_interval", ST_T_DURATION, 0, "2h", NONNEG, NULL, "Session expiry for MQTT 3 clients with clean_session = false."},
    {"mqtt.message_expiry_interval", ST_T_DURATION, ST_F_INF, "infinity", NONNEG, NULL, "Expiry of queued messages without a Message Expiry Interval."},
    {"mqtt.max_subscriptions", ST_T_INT, ST_F_INF, "infinity", POS, NULL, "Subscriptions one client may hold."},
    {"mqtt.upgrade_qos", ST_T_BOOL, 0, "false", NR, NULL, "Deliver at the subscription's QoS even if the message's is lower."},
    {"mqtt.idle_timeout", ST_T_DURATION, ST_F_INF, "15s", NONNEG, NULL, "Close a connection that sends no CONNECT within this time."},
    {"mqtt.use_username_as_clientid", ST_T_BOOL, 0, "false", NR, NULL, "Replace the client identifier with the username."},

    {"retainer.enable", ST_T_BOOL, 0, "true", NR, NULL, "Store retained messages."},
    {"retainer.max_retained_messages", ST_T_INT, 0, "0", NONNEG, NULL, "Retained messages stored at most; 0 = unlimited."},
    {"retainer.max_payload_size", ST_T_BYTESIZE, 0, "1MB", 0, 268435456, NULL, "Largest retained payload stored."},
    {"retainer.msg_expiry_interval", ST_T_DURATION, 0, "0s", NONNEG, NULL, "Expiry of retained messages without their own; 0 = never."},

    LISTENER("listeners.ssl.<name>", "MQTT over TLS", "\"0.0.0.0:8883\"", "Expect a PROXY protocol v1/v2 header before the TLS handshake (haproxy send-proxy in TCP mode)."),
    AUTHN("listeners.ssl.<name>.authentication.<#>")
    SSL_OPTIONS("listeners.ssl.<name>")
    PEER_CERT("listeners.ssl.<name>")
    LISTENER("listeners.ws.<name>", "MQTT over WebSocket", "\"0.0.0.0:8083\"", "Expect a PROXY protocol v1/v2 header before the HTTP upgrade request."),
    AUTHN("listeners.ws.<name>.authentication.<#>")
    WEBSOCKET("listeners.ws.<name>")
    LISTENER("listeners.wss.<name>", "MQTT over secure WebSocket (WebSocket over TLS)", "\"0.0.0.0:8084\"", "Expect a PROXY protocol v1/v2 header before the TLS handshake."),
    AUTHN("listeners.wss.<name>.authentication.<#>")
    WEBSOCKET("listeners.wss.<name>")
    SSL_OPTIONS("listeners.wss.<name>")
    PEER_CERT("listeners.wss.<name>")
    {"dashboard.default_username", ST_T_STRING, 0, "admin", NR, NULL, "The API's first user, created once for the whole cluster (POST /api/v5/login). Read at start only."},
    {"dashboard.default_password", ST_T_STRING, 0, "public", NR, NULL, "Its first password (the node warns while it is unchanged). Changing this key later does not change the user's password."},
    {"dashboard.token_expired_time", ST_T_DURATION, 0, "60m", 1000, 604800000, NULL, "How long a token from POST /api/v5/login is good for."},
    {"sys_topics.sys_msg_interval", ST_T_DURATION, ST_F_DISABLED, "1m", 100, 86400000, NULL, "How often each node publishes its $SYS version, sysdescr, brokers, stats and metrics topics (docs/operations.md); disabled: never."},
    {"sys_topics.sys_heartbeat_interval", ST_T_DURATION, ST_F_DISABLED, "30s", 100, 86400000, NULL, "How often each node publishes $SYS/brokers/<node>/uptime and datetime; disabled: never."},
    {"sys_topics.sys_event_messages.client_connected", ST_T_BOOL, 0, "true", NR, NULL, "Publish $SYS/brokers/<node>/clients/<clientid>/connected (a JSON object) when a client connects."},
    {"sys_topics.sys_event_messages.client_disconnected", ST_T_BOOL, 0, "true", NR, NULL, "Publish $SYS/brokers/<node>/clients/<clientid>/disconnected when a connected client goes."},
    {"sys_topics.sys_event_messages.client_subscribed", ST_T_BOOL, 0, "false", NR, NULL, "Publish $SYS/brokers/<node>/clients/<clientid>/subscribed for each filter a client subscribes to."},
    {"sys_topics.sys_event_messages.client_unsubscribed", ST_T_BOOL, 0, "false", NR, NULL, "Publish $SYS/brokers/<node>/clients/<clientid>/unsubscribed for each filter a client unsubscribes from."},
    {"sysmon.os.mem_check_interval", ST_T_DURATION, ST_F_DISABLED, "60s", 1000, 86400000, NULL, "How often memory and file descriptors are checked against the watermarks below (alarms, docs/operations.md); disabled: never."},
    {"sysmon.os.sysmem_high_watermark", ST_T_STRING, 0, "\"70%\"", NR, NULL, "The alarm high_system_memory_usage is raised while the machine's memory in use (MemTotal - MemAvailable) is above this share of its memory, \"0%\" to \"100%\"."},
    {"sysmon.os.procmem_high_watermark", ST_T_STRING, 0, "\"5%\"", NR, NULL, "The alarm high_process_memory_usage is raised while this node's resident memory is above this share of the machine's memory."},
    {"sysmon.os.fd_high_watermark", ST_T_STRING, 0, "\"80%\"", NR, NULL, "Starling's own: the alarm high_fd_usage is raised while the node's open file descriptors are above this share of its limit (RLIMIT_NOFILE)."},
    {"prometheus.enable_basic_auth", ST_T_BOOL, 0, "false", NR, NULL, "EMQX's key: false (the default) lets a Prometheus server scrape GET /api/v5/prometheus/stats without a credential; true asks for one as every other endpoint does (an API key with Basic, or a token)."},
    {"authorization.sources.<#>.type", ST_T_STRING, 0, "\"\"", NR, NULL, "file: rules from an acl.conf (EMQX's format, docs/security.md §9); built_in_database: rules per client id, per username and for all, kept by the cluster and written through the API (/api/v5/authorization/sources/built_in_database/rules); http: a service asked about each PUBLISH and SUBSCRIBE its cache does not know (204 or {\"result\": \"allow\"} allows, {\"result\": \"deny\"} denies, anything else, an error or a timeout leaves it to the next source). Required."},
    {"authorization.sources.<#>.max_rules", ST_T_INT, 0, "100", 1, 10000, NULL, "built_in_database: at most this many rules per client id, per username, and for all."},
    {"authorization.sources.<#>.enable", ST_T_BOOL, 0, "true", NR, NULL, "false: the source is skipped."},
    {"authorization.sources.<#>.method", ST_T_ENUM, 0, "post", NR, "get|post", "http: how the service is asked (GET: the body's fields go in the query)."},
    {"authorization.sources.<#>.url", ST_T_STRING, 0, "\"\"", NR, NULL, "http: the service's URL (http:// or https://); placeholders ${username}, ${clientid}, ${peerhost}, ${topic}, ${action} (publish or subscribe), ${qos}, ${retain} are URL-encoded. Required."},
    {"authorization.sources.<#>.headers.<name>", ST_T_STRING, 0, "\"\"", NR, NULL, "http: a request header (at most 8); content-type application/x-www-form-urlencoded sends the body as a form, else JSON."},
    {"authorization.sources.<#>.body.<name>", ST_T_STRING, 0, "\"\"", NR, NULL, "http: a field of the request's body (at most 8), with placeholders, e.g. topic = \"${topic}\"."},
    {"authorization.sources.<#>.request_timeout", ST_T_DURATION, 0, "5s", 10, 600000, NULL, "http: a request that takes longer is given up (the next source decides)."},
    {"authorization.sources.<#>.connect_timeout", ST_T_DURATION, 0, "15s", 10, 600000, NULL, "http: connecting to the service may take this long."},
    {"authorization.sources.<#>.path", ST_T_STRING, 0, "\"\"", NR, NULL, "file: the acl.conf; relative to the working directory. It is read at start (an error stops the node, naming the file and line) and on `starling ctl acl reload` or the API's reload (an error keeps the old rules)."},
    {"authorization.no_match", ST_T_ENUM, 0, "allow", NR, "allow|deny", "What happens when no source has a rule for a PUBLISH or SUBSCRIBE."},
    {"authorization.deny_action", ST_T_ENUM, 0, "ignore", NR, "ignore|disconnect", "ignore: a denied SUBSCRIBE gets 0x87 (3.1.1: 0x80), a denied PUBLISH is dropped (MQTT 5: PUBACK/PUBREC 0x87; 3.x: acknowledged as usual); disconnect: the client is disconnected (MQTT 5: DISCONNECT 0x87)."},
    {"authorization.cache.enable", ST_T_BOOL, 0, "true", NR, NULL, "Remember each client's recent decisions, so a client that keeps to its topics is matched once."},
    {"authorization.cache.max_size", ST_T_INT, 0, "32", 1, 1048576, NULL, "Decisions remembered per client (the oldest is forgotten first)."},
    {"authorization.cache.ttl", ST_T_DURATION, 0, "1m", 1, 86400000, NULL, "How long a decision is remembered. A reload of the rules forgets all at once."},
    {"flapping_detect.enable", ST_T_BOOL, 0, "false", NR, NULL, "Ban a client id that disconnects max_count times within window_time (on one node) for ban_time (EMQX's flapping detection; the ban is the cluster's)."},
    {"flapping_detect.window_time", ST_T_DURATION, 0, "1m", 1000, 86400000, NULL, "The window disconnects are counted in."},
    {"flapping_detect.max_count", ST_T_INT, 0, "15", 2, 1000000, NULL, "Disconnects within the window that make a ban."},
    {"flapping_detect.ban_time", ST_T_DURATION, 0, "5m", 1000, 31536000000, NULL, "How long the ban lasts."},
    {"banned.bootstrap_file", ST_T_STRING, 0, "\"\"", NR, NULL, "Bans to create at start (EMQX's CSV: header as,who,reason,at,until,by; only as and who are needed; at and until in epoch seconds). \"\": none."},
    {"api_key.bootstrap_file", ST_T_STRING, 0, "\"\"", NR, NULL, "API keys to create at start: `api_key:api_secret[:administrator]` lines (EMQX's format); a key of the file replaces the cluster's. Clients send `Authorization: Basic base64(key:secret)`. \"\": none."},
    {"dashboard.listeners.http.bind", ST_T_BIND, 0, "\"0.0.0.0:18083\"", NR, NULL, "Address of the HTTP API and dashboard."},
    {"dashboard.listeners.https.enable", ST_T_BOOL, 0, "true", NR, NULL, "Deprecated in EMQX 5.1 (bind = 0 disables): false turns the HTTPS API off."},
    {"dashboard.listeners.https.bind", ST_T_BIND, 0, "0", NR, NULL, "Address of the HTTPS API (its ssl_options as a listener's); port 0 (the default): no HTTPS API."},
    SSL_OPTIONS("dashboard.listeners.https")
};
/* clang-format on */

static const struct st_schema_map maps[] = {
    {"listeners.tcp", "default"},
};

const struct st_schema_key *st_schema_keys(size_t *n)
{
    *n = sizeof(keys) / sizeof(keys[0]);
    return keys;
}

const struct st_schema_map *st_schema_maps(size_t *n)
{
    *n = sizeof(maps) / sizeof(maps[0]);
    return maps;
}

/* Match segs against one schema path: NONE, LEAF (same length) or PREFIX (path longer). */
static enum st_match path_match(const char *p, const char *const *segs, size_t n, int *wild)
{
    for (size_t i = 0; i < n; i++) {
        if (!*p) return ST_MATCH_NONE;
        size_t len = strcspn(p, ".");
        *wild = p[0] == '<';
        if (!*wild && (strlen(segs[i]) != len || memcmp(p, segs[i], len) != 0))
            return ST_MATCH_NONE;
        p += len;
        if (*p == '.')
            p++;
        else if (i + 1 < n)
            return ST_MATCH_NONE;
    }
    return *p ? ST_MATCH_PREFIX : ST_MATCH_LEAF;
}

int st_schema_is_list(const char *const *segs, size_t n)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        int w = 0;
        if (path_match(keys[i].path, segs, n, &w) != ST_MATCH_PREFIX) continue;
        const char *p = keys[i].path;
        for (size_t j = 0; j < n; j++) /* past the n matched segments */
            p = strchr(p, '.') + 1;
        if (strncmp(p, "<#>.", 4) == 0) return 1;
    }
    return 0;
}

enum st_match st_schema_match(const char *const *segs, size_t n, const struct st_schema_key **key,
                              int *wild)
{
    enum st_match best = ST_MATCH_NONE;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        int w = 0;
        enum st_match m = path_match(keys[i].path, segs, n, &w);
        if (m == ST_MATCH_LEAF) {
            *key = &keys[i];
            *wild = w;
            return m;
        }
        if (m == ST_MATCH_PREFIX && best == ST_MATCH_NONE) {
            best = m;
            *wild = w;
        }
    }
    return best;
}

int st_schema_root_known(const char *root)
{
    size_t len = strlen(root);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strncmp(keys[i].path, root, len) == 0 && keys[i].path[len] == '.') return 1;
    return 0;
}

const struct st_schema_key *st_schema_find(const char *path)
{
    char buf[256];
    const char *segs[16];
    size_t n = 0, len = strlen(path);
    if (len >= sizeof(buf)) return NULL;
    memcpy(buf, path, len + 1);
    for (char *s = buf; s && n < 16;) {
        segs[n++] = s;
        if ((s = strchr(s, '.'))) *s++ = '\0';
    }
    const struct st_schema_key *k = NULL;
    int wild;
    return st_schema_match(segs, n, &k, &wild) == ST_MATCH_LEAF ? k : NULL;
}

void st_cval_free(struct st_cval *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++)
        free(v->arr[i]);
    free(v->arr);
    memset(v, 0, sizeof(*v));
}

int st_parse_duration(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"w", 604800000}};
    int64_t total = 0;
    const char *p = s;
    if (!*p) return -1;
    while (*p) {
        if (*p < '0' || *p > '9') return -1;
        int64_t v = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (v > (INT64_MAX - 9) / 10) return -1;
            v = v * 10 + (*p - '0');
        }
        size_t ulen = 0;
        while (p[ulen] && !(p[ulen] >= '0' && p[ulen] <= '9'))
            ulen++;
        int64_t mult = 0;
        if (ulen == 0 && p == s + strlen(s) && total == 0)
            mult = 1; /* a bare number is milliseconds */
        for (size_t i = 0; ulen && i < sizeof(units) / sizeof(units[0]); i++)
            if (strlen(units[i].unit) == ulen && strncasecmp(p, units[i].unit, ulen) == 0)
                mult = units[i].ms;
        if (!mult || v > (INT64_MAX - 1 - total) / mult) return -1;
        total += v * mult;
        p += ulen;
    }
    *ms = total;
    return 0;
}

int st_parse_bytesize(const char *s, int64_t *bytes)
{
    static const struct {
        const char *unit;
        int64_t mult;
    } units[] = {{"", 1},         {"b", 1},       {"kb", 1024},       {"k", 1024},
                 {"mb", 1048576}, {"m", 1048576}, {"gb", 1073741824}, {"g", 1073741824}};
    const char *p = s;
    int64_t v = 0;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (*p - '0');
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(p, units[i].unit) == 0) {
            if (v > INT64_MAX / units[i].mult) return -1;
            *bytes = v * units[i].mult;
            return 0;
        }
    }
    return -1;
}

void st_schema_type_name(const struct st_schema_key *k, char *buf, size_t len)
{
    static const char *const names[] = {"bool",     "integer", "float",
                                        "string",   "enum",    "duration",
                                        "bytesize", "ip:port", "array of strings"};
    snprintf(buf, len, "%s%s%s", names[k->type], (k->flags & ST_F_INF) ? " | infinity" : "",
             (k->flags & ST_F_DISABLED) ? " | disabled" : "");
}
