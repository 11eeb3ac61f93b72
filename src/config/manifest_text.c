/*
 * cw_manifest_text_check (yaml.h): what a manifest's text must be before libfyaml reads it.
 *
 * UTF-8, as Kubernetes reads manifests, made only of YAML's printable characters (YAML 1.2 §5.1;
 * kubectl's decoder refuses control characters too). libfyaml 0.7.12 is not safe on anything
 * else: it never returns on some invalid UTF-8 ("%\x88\n" hangs it; fuzz/README.md), and a hung
 * reload would take the gateway with it, so such text is refused, with its position, before
 * libfyaml sees it.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/yaml.h"
#include "util/utf8.h"

/* Line and column (in characters, 1-based) of byte <at> of <text>. */
static void position_of(const char *text, size_t at, uint32_t *line, uint32_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

/*
 * The offset of the first character of valid UTF-8 <text> that YAML does not allow: C0 controls
 * but tab, line feed and carriage return, DEL, C1 controls but NEL (U+0085), U+FFFE and U+FFFF.
 * <len> when there is none; <code> receives the character.
 */
/* Whether all 8 bytes of <w> are printable ASCII (0x20-0x7e), the bulk of any manifest. */
static bool printable_ascii8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t below = (w - ones * 0x20) & ~w;         /* high bit set where a byte < 0x20 */
    uint64_t above = (w + ones * (0x7f - 0x7e)) | w; /* high bit set where a byte > 0x7e */
    return !((below | above) & highs);
}

static size_t first_unprintable(const char *text, size_t len, unsigned *code)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len; i++) {
        uint64_t w;
        if (i + 8 <= len && (memcpy(&w, s + i, 8), printable_ascii8(w))) {
            i += 7; /* eight at a time while nothing needs a closer look */
            continue;
        }
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f)
            continue; /* the common case first */
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            *code = c;
            return i;
        }
        if (c == 0x7f) {
            *code = c;
            return i;
        }
        if (c == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] < 0xa0 && s[i + 1] != 0x85) {
            *code = s[i + 1]; /* 0xc2 0x80-0x9f encodes U+0080-U+009F */
            return i;
        }
        if (c == 0xef && i + 2 < len && s[i + 1] == 0xbf &&
            (s[i + 2] == 0xbe || s[i + 2] == 0xbf)) {
            *code = s[i + 2] == 0xbe ? 0xfffe : 0xffff;
            return i;
        }
    }
    return len;
}

/*
 * The offset of a tab on a line that starts (after spaces and any "- " sequence entries) with
 * YAML's explicit-key indicator "? ", or <len>. libfyaml 0.7.12 crashes destroying its parser after such a line ("? 4:\t-",
 * found by fuzz_yaml); Kubernetes manifests have string keys and never need "?" keys, let alone
 * tabs in them.
 */
static size_t tab_on_explicit_key_line(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* "  - - ? 4:\t-" crashes the same way: the key opens a sequence entry's mapping */
        while (i < len && (text[i] == ' ' ||
                           (text[i] == '-' && i + 1 < len && (text[i + 1] == ' ' ||
                                                              text[i + 1] == '\t'))))
            i++;
        bool explicit_key = i < len && text[i] == '?' && (i + 1 == len || text[i + 1] == ' ' ||
                                                          text[i + 1] == '\t');
        for (; i < len && text[i] != '\n'; i++)
            if (explicit_key && text[i] == '\t')
                return i;
        i++;
    }
    return len;
}

bool cw_manifest_text_check(const char *text, size_t len, struct cw_diags *diags, const char *file)
{
    uint32_t line, col;
    size_t bad = cw_utf8_valid_prefix(text, len);
    if (bad < len) {
        position_of(text, bad, &line, &col);
        cw_diags_add(diags, CW_SEV_ERROR, file, line, col, NULL, NULL,
                     "not UTF-8 text: byte 0x%02x cannot start or continue a character here",
                     (unsigned char)text[bad]);
        return false;
    }
    unsigned code = 0;
    bad = first_unprintable(text, len, &code);
    if (bad < len) {
        position_of(text, bad, &line, &col);
        cw_diags_add(diags, CW_SEV_ERROR, file, line, col, NULL, NULL,
                     "not YAML text: the character U+%04X is not allowed (YAML is printable "
                     "characters, tab, line feed and carriage return)",
                     code);
        return false;
    }
    bad = tab_on_explicit_key_line(text, len);
    if (bad < len) {
        position_of(text, bad, &line, &col);
        cw_diags_add(diags, CW_SEV_ERROR, file, line, col, NULL, NULL,
                     "a tab on an explicit-key (\"? \") line is not supported");
        return false;
    }
    return true;
}
