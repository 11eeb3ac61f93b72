/*
 * The hosts file as the resolver reads it (dns/hosts_file.h): its syntax, hostile lines, and an
 * edited file read again once its check is due.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/hosts_file.h"
#include "dns/names.h"
#include "support.h"

static const char *text_of(const struct sockaddr_storage *a, char *out, size_t size)
{
    cw_dns_address_text(a, out, size);
    return out;
}

/* Writes <text> to a temporary file; returns its path (to free and unlink). */
static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/cw-hosts-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void rewrite(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void a_file_is_read_and_followed(void **state)
{
    (void)state;
    char *path = write_temp("# test\n"
                            "10.0.0.5 db.example.test DB-Alias  # comment alias-not-this\n"
                            "fd00::7\tdb.example.test\r\n"
                            "   \n"
                            "not-an-address bogus.example.test\n"
                            "10.0.0.9");
    struct cw_hosts_file *h = cw_hosts_file_new(path, 1000);
    struct sockaddr_storage out[CW_DNS_MAX_ADDRESSES];
    char ip[64];
    assert_int_equal(cw_hosts_file_lookup(h, "db.example.test", 5000, out, 16), 2);
    assert_string_equal(text_of(&out[0], ip, sizeof(ip)), "10.0.0.5");
    assert_string_equal(text_of(&out[1], ip, sizeof(ip)), "fd00::7");
    /* Names match without case, and "name." is the name. */
    assert_int_equal(cw_hosts_file_lookup(h, "db-alias", 5000, out, 16), 1);
    assert_int_equal(cw_hosts_file_lookup(h, "DB.Example.Test.", 5000, out, 16), 2);
    assert_int_equal(cw_hosts_file_lookup(h, "db.example.test", 5000, out, 1), 1); /* cap */
    assert_int_equal(cw_hosts_file_lookup(h, "alias-not-this", 5000, out, 16), 0);
    assert_int_equal(cw_hosts_file_lookup(h, "bogus.example.test", 5000, out, 16), 0);
    assert_int_equal(cw_hosts_file_lookup(h, "other.example.test", 5000, out, 16), 0);

    /* An edit is read at the next check, not before. */
    rewrite(path, "10.0.0.6 db.example.test\n");
    assert_int_equal(cw_hosts_file_lookup(h, "db.example.test", 5500, out, 16), 2);
    assert_int_equal(cw_hosts_file_lookup(h, "db.example.test", 6000, out, 16), 1);
    assert_string_equal(text_of(&out[0], ip, sizeof(ip)), "10.0.0.6");

    /* A file grown past 16 MiB is not read: its names go to DNS. */
    assert_int_equal(truncate(path, 17 << 20), 0);
    assert_int_equal(cw_hosts_file_lookup(h, "db.example.test", 6500, out, 16), 1); /* not due */
    assert_int_equal(cw_hosts_file_lookup(h, "db.example.test", 7000, out, 16), 0);
    rewrite(path, "10.0.0.6 db.example.test\n");
    assert_int_equal(cw_hosts_file_lookup(h, "db.example.test", 8000, out, 16), 1);

    /* A removed file names nothing (DNS answers instead). */
    unlink(path);
    assert_int_equal(cw_hosts_file_lookup(h, "db.example.test", 9000, out, 16), 0);
    cw_hosts_file_free(h);
    free(path);
}

static void hostile_lines_are_skipped(void **state)
{
    (void)state;
    struct cw_hosts_file *h = cw_hosts_file_new("/nonexistent/hosts", 1000);
    char big[2048];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    /* A name too long for DNS, an address field too long for an address, 20 addresses for one
     * name, and a NUL byte in the middle of the text. */
    char text[8192];
    int len = snprintf(text, sizeof(text), "10.0.0.1 %s\n%s 10.0.0.2 x.test\n", big, big);
    for (int i = 0; i < 20; i++)
        len += snprintf(text + len, sizeof(text) - (size_t)len, "10.1.0.%d many.test\n", i);
    memcpy(text + len, "10.0.0.3 nul\0after.test\n", 24);
    len += 24;
    cw_hosts_file_parse(h, text, (size_t)len);
    struct sockaddr_storage out[CW_DNS_MAX_ADDRESSES];
    assert_int_equal(cw_hosts_file_lookup(h, big, 0, out, 16), 0);
    assert_int_equal(cw_hosts_file_lookup(h, "x.test", 0, out, 16), 0);
    assert_int_equal(cw_hosts_file_lookup(h, "many.test", 0, out, 16), CW_DNS_MAX_ADDRESSES);
    assert_int_equal(cw_hosts_file_lookup(h, "", 0, out, 16), 0);
    cw_hosts_file_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_file_is_read_and_followed),
        cmocka_unit_test(hostile_lines_are_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
