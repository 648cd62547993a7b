/* test_base64.c — RFC 4648 test vectors both ways, etcd's key layout, and the strict decoder
 * refusing every text that is not canonical base64. */
#include "test.h"
#include "core/base64.h"
#include "core/err.h"

#include <string.h>

static void test_vectors(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const text[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                       "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char enc[16];
        uint8_t dec[16];
        CHECK_EQ(st_b64_encode(plain[i], strlen(plain[i]), enc, sizeof enc), strlen(text[i]));
        CHECK_STR(enc, text[i]);
        long n = st_b64_decode(text[i], strlen(text[i]), dec, sizeof dec);
        CHECK_EQ(n, strlen(plain[i]));
        CHECK(n >= 0 && memcmp(dec, plain[i], (size_t)n) == 0);
    }
}

static void test_binary_and_etcd_keys(void)
{
    uint8_t all[256], back[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char enc[ST_B64_LEN(256) + 1];
    CHECK_EQ(st_b64_encode(all, 256, enc, sizeof enc), ST_B64_LEN(256));
    CHECK_EQ(st_b64_decode(enc, strlen(enc), back, sizeof back), 256);
    CHECK(memcmp(all, back, 256) == 0);
    const char *key = "starlingcl/starlingcl/nodes/starling@127.0.0.2";
    char k64[128];
    CHECK(st_b64_encode(key, strlen(key), k64, sizeof k64) > 0);
    CHECK_STR(k64, "c3RhcmxpbmdjbC9zdGFybGluZ2NsL25vZGVzL3N0YXJsaW5nQDEyNy4wLjAuMg==");
    /* "+" and "/" both appear */
    CHECK(st_b64_encode("\xfb\xff", 2, k64, sizeof k64) == 4);
    CHECK_STR(k64, "+/8=");
}

static void test_limits(void)
{
    char enc[8];
    CHECK_EQ(st_b64_encode("foobar", 6, enc, 8), ST_EFULL); /* 8 chars + NUL */
    CHECK_EQ(st_b64_encode("foobar", 6, enc, 9 - 1), ST_EFULL);
    char big[9];
    CHECK_EQ(st_b64_encode("foobar", 6, big, sizeof big), 8);
    uint8_t out[8];
    CHECK_EQ(st_b64_decode("Zm9vYmFy", 8, out, 5), ST_EFULL);
    CHECK_EQ(st_b64_decode("Zm9vYmFy", 8, out, 6), 6);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "Zg=",      /* not a multiple of 4 */
        "Zg",       /* unpadded */
        "Zh==",     /* left-over bits set (Zg== is canonical) */
        "Zm9=",     /* left-over bits set (Zm8= is canonical) */
        "Z===",     /* three pads */
        "====",     /* nothing but padding */
        "Zg==Zg==", /* padding in the middle */
        "Z=g=",     /* padding then data */
        "Zm9v\n",   /* whitespace */
        "Zm 9",     /* space */
        "Zm9-",     /* URL alphabet */
        "Zm9_",     /* URL alphabet */
        "Zm\x80v",  /* high byte */
        "Zm9v\0\0\0\0",
    };
    uint8_t out[16];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = i == sizeof bad / sizeof bad[0] - 1 ? 8 : strlen(bad[i]);
        long rc = st_b64_decode(bad[i], n, out, sizeof out);
        CHECK_EQ(rc, ST_EMALFORMED);
        if (rc != ST_EMALFORMED) printf("  accepted: %s\n", bad[i]);
    }
}

int main(void)
{
    RUN(test_vectors);
    RUN(test_binary_and_etcd_keys);
    RUN(test_limits);
    RUN(test_malformed);
    return TEST_END();
}
