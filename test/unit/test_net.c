/*
 * Unit tests for net.c's address conversion: a parsed numeric address becomes the socket
 * address bind/connect take; names and unset addresses are refused.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "libstream/addr.h"
#include "libstream/err.h"
#include "libstream/net.h"

static void test_sockaddr(void **state)
{
    struct ls_addr a;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
    struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;

    (void)state;
    assert_int_equal(ls_addr_parse("127.0.0.2:1936", true, &a), LS_OK);
    assert_int_equal(ls_net_sockaddr(&a, &ss, &len), LS_OK);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(s4->sin_family, AF_INET);
    assert_int_equal(ntohs(s4->sin_port), 1936);
    assert_int_equal(ntohl(s4->sin_addr.s_addr), 0x7f000002);
    assert_int_equal(ls_addr_parse("[::1]:80", true, &a), LS_OK);
    assert_int_equal(ls_net_sockaddr(&a, &ss, &len), LS_OK);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(s6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(s6->sin6_port), 80);
    assert_memory_equal(&s6->sin6_addr, &lo6, 16);
    assert_int_equal(ls_addr_parse("example.net:80", false, &a), LS_OK);
    assert_int_equal(ls_net_sockaddr(&a, &ss, &len), LS_EINVAL);
    memset(&a, 0, sizeof a); /* unset */
    assert_int_equal(ls_net_sockaddr(&a, &ss, &len), LS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sockaddr),
    };
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
