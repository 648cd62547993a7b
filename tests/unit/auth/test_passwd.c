/* test_passwd.c — EMQX's password hashes against vectors made by other implementations:
 * Python's hashlib (digests, PBKDF2) and the published bcrypt test vectors (OpenBSD /
 * Openwall crypt_blowfish); salts, case, constant-time check, what is refused. */
#include "test.h"
#include "auth/passwd.h"

#include <string.h>

#define SALT "salt0123456789ab"

static st_pw_algo simple(int alg, int pos)
{
    st_pw_algo a = {.alg = alg, .salt_position = pos};
    return a;
}

static void test_digests(void)
{
    static const struct {
        int alg, pos;
        const char *hex;
    } v[] = {
        /* hashlib.new(name, (salt + "secret").encode()).hexdigest(), and the other orders */
        {ST_PW_MD5, ST_SALT_PREFIX, "1dc1155bda69f8ff00c8a5ffa26b20a7"},
        {ST_PW_SHA, ST_SALT_PREFIX, "cc2eae911228ab8e7680efdf1669a65aed9e914f"},
        {ST_PW_SHA256, ST_SALT_PREFIX,
         "b9c206a3b8adcfde78f7ca51c3858919ad35a070d686b8f6a7230cc2581c549b"},
        {ST_PW_SHA512, ST_SALT_PREFIX,
         "f1858a77f61060c603d5646fd99e2d015de2d46c2b4d59bd4ce9bfc3045c1fc2ba365dac70340bf64b08"
         "22bcaeb15513ed401c168787d2e8930dded3bb192c58"},
        {ST_PW_SHA256, ST_SALT_SUFFIX,
         "54ddabe03835dbcf006fd48c7f42c56738db222a013a9ef1944aeb6d9c5cefdd"},
        {ST_PW_SHA256, ST_SALT_DISABLE,
         "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        st_pw_algo a = simple(v[i].alg, v[i].pos);
        char out[ST_PW_MAX];
        CHECK_EQ(st_pw_hash(&a, SALT, "secret", 6, out, sizeof out), strlen(v[i].hex));
        CHECK_STR(out, v[i].hex);
        CHECK(st_pw_check(&a, SALT, v[i].hex, "secret", 6));
        CHECK(!st_pw_check(&a, SALT, v[i].hex, "secreT", 6));
        CHECK(!st_pw_check(&a, "other", v[i].hex, "secret", 6) || v[i].pos == ST_SALT_DISABLE);
        CHECK(!st_pw_slow(&a));
    }
    /* an export may write hex in capitals */
    st_pw_algo a = simple(ST_PW_MD5, ST_SALT_PREFIX);
    CHECK(st_pw_check(&a, SALT, "1DC1155BDA69F8FF00C8A5FFA26B20A7", "secret", 6));
    CHECK(!st_pw_check(&a, SALT, "1dc1155bda69f8ff00c8a5ffa26b20a", "secret", 6)); /* short */
}

static void test_plain(void)
{
    st_pw_algo a = simple(ST_PW_PLAIN, ST_SALT_DISABLE);
    char out[ST_PW_MAX];
    CHECK_EQ(st_pw_hash(&a, "", "secret", 6, out, sizeof out), 6);
    CHECK_STR(out, "secret");
    CHECK(st_pw_check(&a, "", "secret", "secret", 6));
    CHECK(!st_pw_check(&a, "", "Secret", "secret", 6)); /* a password is not hex: case counts */
    a.salt_position = ST_SALT_SUFFIX;                   /* an imported plain hash with a salt */
    CHECK_EQ(st_pw_hash(&a, "xy", "secret", 6, out, sizeof out), 8);
    CHECK_STR(out, "secretxy");
}

static void test_pbkdf2(void)
{
    static const struct {
        int mac, iter, dk;
        const char *hex;
    } v[] = {
        /* hashlib.pbkdf2_hmac(mac, b"secret", salt, iterations, dk_length).hex() */
        {ST_MAC_SHA256, 1000, 32,
         "534816e4b630fc09dc2c527217f15188afaa574a6c10058c410633bd8a8c6be9"},
        {ST_MAC_SHA, 10, 0, "07b28ce9dbbc2b2edf1b56386429c2ef32c38e80"}, /* dk: sha's 20 */
        {ST_MAC_SHA512, 5, 16, "be8c9f3d19194b034d78c192556c030e"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        st_pw_algo a = {.alg = ST_PW_PBKDF2,
                        .mac_fun = v[i].mac,
                        .iterations = v[i].iter,
                        .dk_length = v[i].dk};
        char out[ST_PW_MAX];
        CHECK_EQ(st_pw_hash(&a, SALT, "secret", 6, out, sizeof out), strlen(v[i].hex));
        CHECK_STR(out, v[i].hex);
        CHECK(st_pw_check(&a, SALT, v[i].hex, "secret", 6));
        CHECK(!st_pw_check(&a, SALT, v[i].hex, "secrex", 6));
        CHECK_EQ(st_pw_slow(&a), v[i].iter >= 1000);
    }
    st_pw_algo bad = {.alg = ST_PW_PBKDF2, .mac_fun = ST_MAC_SHA256, .iterations = 0};
    char out[ST_PW_MAX];
    CHECK(st_pw_hash(&bad, SALT, "secret", 6, out, sizeof out) < 0);
}

static void test_bcrypt(void)
{
    static const char *const v[][2] = {
        {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
        {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*"},
        {"$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", "U*U*U"},
        {"$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
         "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 "
         "are ignored"},
        {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", ""},
    };
    st_pw_algo a = {.alg = ST_PW_BCRYPT, .salt_rounds = 5};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[ST_PW_MAX];
        CHECK_EQ(st_pw_hash(&a, v[i][0], v[i][1], strlen(v[i][1]), out, sizeof out),
                 strlen(v[i][0]));
        CHECK_STR(out, v[i][0]);
        CHECK(st_pw_check(&a, v[i][0], v[i][0], v[i][1], strlen(v[i][1])));
        CHECK(!st_pw_check(&a, v[i][0], v[i][0], "U*U*U*", 6));
    }
    CHECK(st_pw_slow(&a));
    /* a new salt, and a round trip; rounds are clamped to EMQX's 5..10 */
    a.salt_rounds = 3;
    char salt[64], out[ST_PW_MAX];
    CHECK(st_pw_salt_new(&a, salt, sizeof salt) == 0);
    CHECK(strncmp(salt, "$2b$05$", 7) == 0 && strlen(salt) == 29);
    CHECK(st_pw_hash(&a, salt, "pw", 2, out, sizeof out) == 60);
    CHECK(st_pw_check(&a, out, out, "pw", 2) && !st_pw_check(&a, out, out, "pW", 2));
    /* a NUL inside the password would cut it short in bcrypt: refused */
    CHECK(st_pw_hash(&a, salt, "pw\0x", 4, out, sizeof out) < 0);
}

static void test_salts_and_names(void)
{
    st_pw_algo a = simple(ST_PW_SHA256, ST_SALT_PREFIX);
    char s1[64], s2[64];
    CHECK(st_pw_salt_new(&a, s1, sizeof s1) == 0 && st_pw_salt_new(&a, s2, sizeof s2) == 0);
    CHECK(strlen(s1) == 32 && strspn(s1, "0123456789abcdef") == 32 && strcmp(s1, s2) != 0);
    a.salt_position = ST_SALT_DISABLE;
    CHECK(st_pw_salt_new(&a, s1, sizeof s1) == 0 && s1[0] == 0);
    CHECK_EQ(st_pw_alg_of("sha256"), ST_PW_SHA256);
    CHECK_EQ(st_pw_alg_of("bcrypt"), ST_PW_BCRYPT);
    CHECK_EQ(st_pw_alg_of("sha3"), -1);
    CHECK_EQ(st_pw_salt_of("suffix"), ST_SALT_SUFFIX);
    CHECK_EQ(st_pw_mac_of("sha384"), ST_MAC_SHA384);
    CHECK_EQ(st_pw_mac_of("md4"), -1); /* no longer supported by EMQX either */
}

int main(void)
{
    RUN(test_digests);
    RUN(test_plain);
    RUN(test_pbkdf2);
    RUN(test_bcrypt);
    RUN(test_salts_and_names);
    return TEST_END();
}
