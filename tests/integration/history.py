"""A recorded history of a fault test and its checker (docs/cluster.md §12): publishers send
numbered QoS 1 messages and note which were acknowledged; subscribers note everything they
receive (and the DUP flag). check() then verifies the guarantees:
- no loss: every acknowledged message reaches every subscriber (their sessions survive);
- order: per publisher, a subscriber's first arrivals come in publishing order;
- duplicates: a message arrives twice only as a DUP resend (counted, reported).
A shared subscription group (members on several nodes) is checked as one receiver, for
at-least-once only: every acknowledged message reaches some member (its duplicates are
counted, not failed: a copy a fault leaves in doubt is sent again, possibly elsewhere).
"""

import collections
import threading
import time

import mqttraw as m


class History:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = collections.defaultdict(list)  # publisher -> [seq]
        self.got = collections.defaultdict(list)  # subscriber -> [(publisher, seq, dup)]
        self.pub_stop = threading.Event()  # publishers stop first ...
        self.stop = threading.Event()  # ... then subscribers stop once nothing is missing
        self.not_owed = {}  # subscriber -> publishers whose messages it may miss (declared down)
        self.gone = set()  # subscribers whose session did not survive (their node died)
        self.pub_threads = []
        self.sub_threads = []
        self.errors = []

    def _run(self, threads, fn):
        def body():
            try:
                fn()
            except Exception as e:  # reported by check()
                self.errors.append("%s: %r" % (fn.__name__, e))
        t = threading.Thread(target=body, daemon=True)
        t.start()
        threads.append(t)

    def publisher(self, node, name, topic, pause=0.005):
        """Publish "name:seq" at QoS 1 to topic until stopped; a PUBACK means acknowledged."""
        c = m.Conn(node.port, 5, host=node.host, timeout=60)
        assert c.connect(name).reason == 0

        def publish():
            seq = 0
            while not self.pub_stop.is_set():
                try:
                    ack = c.publish(topic, b"%s:%d" % (name.encode(), seq), qos=1)
                except (m.Closed, OSError):
                    return  # its node died: what it had acknowledged still counts
                except AssertionError as e:
                    if "closed" in str(e):
                        return  # the same: the node closed the connection as it went
                    raise
                assert ack.reason in (0, 0x10), ack
                with self.lock:
                    self.acked[name].append(seq)
                seq += 1
                time.sleep(pause)
        self._run(self.pub_threads, publish)

    def subscriber(self, node, name, filt):
        """A persistent MQTT 5 session subscribed to filt, recording and acking everything."""
        return self._receiver(node, name, filt, name)

    def member(self, node, name, group, filt):
        """A persistent session in $share/group/filt; recorded under the group's key."""
        return self._receiver(node, name, "$share/%s/%s" % (group, filt), "$share/" + group)

    def _receiver(self, node, name, filt, key):
        c = m.Conn(node.port, 5, host=node.host, timeout=60)
        assert c.connect(name, clean=False, properties={"session_expiry": 600}).reason == 0
        assert c.subscribe([(filt, m.subopts(1))]).reasons == [1]
        self.got[key]

        def receive():
            while not self.stop.is_set() or self._missing(key):
                try:
                    p = c.recv(timeout=0.2)
                except (m.Closed, OSError):
                    if name in self.gone:
                        return  # its node died, as the test meant
                    raise
                if p is None:
                    if self.stop.is_set() and time.monotonic() > self.deadline:
                        return
                    continue
                assert p.type == m.PUBLISH, p
                pub, seq = p.payload.decode().split(":")
                with self.lock:
                    self.got[key].append((pub, int(seq), p.dup))
                c.send(m.ack(m.PUBACK, p.packet_id, version=5))
        self._run(self.sub_threads, receive)
        return c

    def _missing(self, sub):
        skip = self.not_owed.get(sub, ())
        if sub in self.gone:
            return []
        with self.lock:
            have = {(p, s) for p, s, _ in self.got[sub]}
            return [(p, s) for p, seqs in self.acked.items() if p not in skip for s in seqs
                    if (p, s) not in have]

    def finish(self, timeout=60):
        """Stop publishing; give subscribers up to timeout to receive the rest. Publishers
        are joined first: until a publisher has recorded its last PUBACK, a subscriber that
        finds nothing missing must not conclude it is done."""
        self.deadline = time.monotonic() + timeout
        self.pub_stop.set()
        for t in self.pub_threads:
            t.join(timeout)
        self.stop.set()
        for t in self.sub_threads:
            t.join(timeout + 5)

    def check(self):
        """Assert the guarantees; returns a summary (published, delivered, DUP resends)."""
        assert not self.errors, self.errors
        published = sum(len(v) for v in self.acked.values())
        assert published > 0, "nothing was published"
        dups = delivered = shared_dups = 0
        for sub, got in self.got.items():
            missing = self._missing(sub)
            assert not missing, "%s never received %d acknowledged message(s), e.g. %r" % (
                sub, len(missing), missing[:10])
            if sub.startswith("$share/"):
                shared_dups += len(got) - len({(p, s) for p, s, _ in got})
                continue
            seen, last = set(), {}
            for pub, seq, dup in got:
                if (pub, seq) in seen:
                    assert dup, "%s got %s:%d twice without DUP" % (sub, pub, seq)
                    dups += 1
                    continue
                seen.add((pub, seq))
                assert seq > last.get(pub, -1), "%s got %s:%d after %s:%d" % (
                    sub, pub, seq, pub, last[pub])
                last[pub] = seq
                delivered += 1
        return {"published": published, "delivered": delivered, "dup_resends": dups,
                "shared_duplicates": shared_dups}
