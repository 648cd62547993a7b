"""Abuse of authentication (issue 15's list): wrong passwords in a loop and a flood of
connects with bad credentials are each refused with the right code (0x86; 3.1.1: 4), and
the node goes on serving the clients already connected; nothing crashes. (alg none and
expired tokens: test_authn_jwt.py; a service answering garbage: test_authn_http.py.)"""

import json
import subprocess
import threading

import pytest

import mqttraw as m
from conftest import STARLING_BIN

pytestmark = pytest.mark.starling_only("Starling's access control")


def test_wrong_passwords_and_a_flood_of_bad_logins(broker_factory, tmp_path):
    users = tmp_path / "users.csv"
    users.write_text("user_id,password\nalice,right\n")
    b = broker_factory({"authentication": [{"mechanism": "password_based",
                                            "backend": "built_in_database",
                                            "bootstrap_file": str(users)}]}).start()
    sub = m.Conn(b.port, 5)
    assert sub.connect("watcher", username="alice", password=b"right").reason == 0
    assert sub.subscribe([("still/#", m.subopts(1))]).reasons == [1]
    pub = m.Conn(b.port, 5)
    assert pub.connect("speaker", username="alice", password=b"right").reason == 0
    for i in range(100):  # a guesser, one after another, both protocol versions
        c = m.Conn(b.port, 5 if i % 2 else 4)
        want = 0x86 if i % 2 else 4
        assert c.connect("guess-%d" % i, username="alice",
                         password=("guess%d" % i).encode()).reason == want
        c.close()
    # 2,000 connects at 1,000/s with a wrong password, while messages keep flowing
    flood = subprocess.Popen([STARLING_BIN, "bench", "conn", "-c", "2000", "-R", "1000",
                              "--ifaddr", "127.0.0.2-127.0.0.9", "-u", "alice", "-P", "wrong",
                              "-h", "127.0.0.1", "-p", str(b.port), "-d", "1", "--json", "-Q"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got = []

    def listen():
        for _ in range(50):
            got.append(sub.expect_publish(timeout=60).payload)

    t = threading.Thread(target=listen)
    t.start()
    for i in range(50):
        assert pub.publish("still/here", b"%d" % i, qos=1).reason in (0, 0x10)
    out, err = flood.communicate(timeout=120)
    t.join(90)
    assert got == [b"%d" % i for i in range(50)]
    res = json.loads(out.strip().splitlines()[-1])["connect"]
    assert res["ok"] == 0 and res["refused"] == 2000, (res, err[-2000:])
    pub.send(m.pingreq())
    assert pub.expect(m.PINGRESP)
    c = m.Conn(b.port, 5)
    assert c.connect("after", username="alice", password=b"right").reason == 0  # still in
    c.close()
    assert b.proc.poll() is None
