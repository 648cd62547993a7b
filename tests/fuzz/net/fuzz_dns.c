/* fuzz_dns.c — libFuzzer target for the DNS answer reader: any bytes give an error or a
 * count within bounds, for both record types; and a query for a name taken from the input
 * is well formed when it is accepted. */
#include "net/dns.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t addr[8][16];
    uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
    for (int t = 0; t < 2; t++) {
        int rc = st_dns_answers(data, size, id, t ? 28 : 1, addr, 8);
        if (rc > 8) abort();
    }
    st_dns_rr rr[4];
    int k = st_dns_records(data, size, id, rr, 4);
    if (k > 4) abort();
    for (int i = 0; i < k; i++)
        if (strlen(rr[i].name) > 253 + 1 || strlen(rr[i].target) > 255) abort();
    char name[300];
    size_t l = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, l);
    name[l] = 0;
    uint8_t q[600];
    long n = st_dns_query(7, name, 1, q, sizeof q);
    if (n > 0 && (n < 18 || q[0] != 0 || q[1] != 7 || q[n - 5] != 0)) abort();
    return 0;
}
