/* config - the INI configuration: one schema table drives defaults, parsing
 * (libinih), --set overrides, validation and `tern check` output; see
 * config.h. Runs only on the main thread (inih's options are globals). */
#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/cidr.h"
#include "core/log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Longest line of a configuration file, and largest file. */
#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (1024 * 1024)
/* How much of a bad value or name an error message quotes. */
#define CONFIG_QUOTE_MAX 80

static const char *const service_names[] = {
	[SERVICE_SMTP] = "smtp",
	[SERVICE_SUBMISSION] = "submission",
	[SERVICE_SUBMISSIONS] = "submissions",
	[SERVICE_POP3] = "pop3",
	[SERVICE_POP3S] = "pop3s",
	[SERVICE_IMAP] = "imap",
	[SERVICE_IMAPS] = "imaps",
};
_Static_assert(ARRAY_SIZE(service_names) == SERVICE__COUNT, "service_names must cover enum service");

const char *service_name(enum service service)
{
	if ((unsigned)service >= SERVICE__COUNT)
		return "unknown";
	return service_names[service];
}

static const char *const address_preference_names[] = {
	[ADDRESS_PREFER_IPV6] = "ipv6",
	[ADDRESS_PREFER_IPV4] = "ipv4",
	[ADDRESS_IPV6_ONLY] = "ipv6-only",
	[ADDRESS_IPV4_ONLY] = "ipv4-only",
};
_Static_assert(ARRAY_SIZE(address_preference_names) == ADDRESS_PREFERENCE__COUNT,
	       "address_preference_names");

const char *address_preference_name(enum address_preference pref)
{
	return (unsigned)pref < ADDRESS_PREFERENCE__COUNT ? address_preference_names[pref] : "?";
}

int address_preference_parse(const char *value, enum address_preference *pref_r)
{
	for (size_t i = 0; i < ARRAY_SIZE(address_preference_names); i++) {
		if (strcmp(value, address_preference_names[i]) == 0) {
			*pref_r = (enum address_preference)i;
			return 0;
		}
	}
	return -1;
}

enum config_type {
	CONFIG_STRING,  /* char * (malloc'd) */
	CONFIG_BOOL,    /* bool */
	CONFIG_UINT,    /* unsigned */
	CONFIG_SIZE,    /* uint64_t, bytes; K/M/G suffixes accepted */
};

struct config_key {
	const char *section;
	const char *key;
	enum config_type type;
	size_t offset;          /* of the field in struct config */
	const char *def;        /* default as text; NULL: computed (hostname) */
	uint64_t min, max;      /* range of CONFIG_UINT and CONFIG_SIZE */
	bool secret;            /* never printed, never quoted in errors */
	/* Further checks of a string value; returns a malloc'd reason or NULL. */
	char *(*check)(const char *value);
};

/* offsetof() of a field, refusing to compile when the field is not of the
 * C type the row's config_type stores. */
#define CONFIG_FIELD(field, ctype)                                              \
	(offsetof(struct config, field) +                                       \
	 0 * sizeof(char[__builtin_types_compatible_p(                           \
		 __typeof__(((struct config *)0)->field), ctype) ? 1 : -1]))
#define STRING(sec, name, field, dflt, chk)                                     \
	{ .section = sec, .key = name, .type = CONFIG_STRING,                   \
	  .offset = CONFIG_FIELD(field, char *), .def = dflt, .check = chk }
/* A string never shown (`tern check` prints its key only). */
#define SECRET(sec, name, field)                                                \
	{ .section = sec, .key = name, .type = CONFIG_STRING,                   \
	  .offset = CONFIG_FIELD(field, char *), .def = "", .secret = true }
#define BOOL(sec, name, field, dflt)                                            \
	{ .section = sec, .key = name, .type = CONFIG_BOOL,                     \
	  .offset = CONFIG_FIELD(field, bool), .def = dflt }
#define UINT(sec, name, field, dflt, lo, hi)                                    \
	{ .section = sec, .key = name, .type = CONFIG_UINT,                     \
	  .offset = CONFIG_FIELD(field, unsigned), .def = dflt, .min = lo, .max = hi }
#define SIZE(sec, name, field, dflt, lo, hi)                                    \
	{ .section = sec, .key = name, .type = CONFIG_SIZE,                     \
	  .offset = CONFIG_FIELD(field, uint64_t), .def = dflt, .min = lo, .max = hi }
/* The key is service_name(service): test-config checks that they agree. */
#define LISTEN(service, name, dflt)                                             \
	STRING("listen", name, listen[service], dflt, config_check_listen)

static char *config_check_hostname(const char *value);
static char *config_check_nonempty(const char *value);
static char *config_check_public_dir(const char *value);
static char *config_check_listen(const char *value);
static char *config_check_dns(const char *value);
static char *config_check_log_level(const char *value);
static char *config_check_networks(const char *value);
static char *config_check_separator(const char *value);
static char *config_check_account(const char *value);
static char *config_check_sender_login(const char *value);
static char *config_check_address_preference(const char *value);
static char *config_check_client_tls(const char *value);
static char *config_check_source_address(const char *value);

#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * 1024 * 1024)

/* Sections in the order `tern check` prints them. */
static const char *const config_sections[] = {
	"server", "listen", "tls", "limits", "pop3", "smtp", "imap", "queue", "auth", "store", "dns", "log",
};

/* Every key tern knows. docs/configuration.md documents each row. */
static const struct config_key config_keys[] = {
	STRING("server", "hostname", server.hostname, NULL, config_check_hostname),
	STRING("server", "data_dir", server.data_dir, "/var/lib/tern", config_check_nonempty),
	STRING("server", "user", server.user, "tern", config_check_nonempty),
	UINT("server", "threads", server.threads, "0", 0, 1024),
	UINT("server", "shutdown_timeout", server.shutdown_timeout, "10", 0, 3600),
	UINT("server", "account_linger", server.account_linger, "5", 0, 3600),
	STRING("server", "public_dir", server.public_dir, "/run/tern", config_check_public_dir),

	LISTEN(SERVICE_SMTP, "smtp", "*:25"),
	LISTEN(SERVICE_SUBMISSION, "submission", "*:587"),
	LISTEN(SERVICE_SUBMISSIONS, "submissions", "*:465"),
	LISTEN(SERVICE_POP3, "pop3", "*:110"),
	LISTEN(SERVICE_POP3S, "pop3s", "*:995"),
	LISTEN(SERVICE_IMAP, "imap", "*:143"),
	LISTEN(SERVICE_IMAPS, "imaps", "*:993"),

	STRING("tls", "cert", tls.cert, "", NULL),
	STRING("tls", "key", tls.key, "", NULL),
	BOOL("tls", "ktls", tls.ktls, "yes"),
	STRING("tls", "ca_file", tls.ca_file, "", NULL),

	SIZE("limits", "message_size", limits.message_size, "52428800", 1 * KIB, 4 * GIB),
	UINT("limits", "recipients", limits.recipients, "1000", 1, 100000),
	UINT("limits", "connections_per_ip", limits.connections_per_ip, "50", 1, 1000000),
	UINT("limits", "connections", limits.connections, "100000", 1, 1000000),
	UINT("limits", "errors_per_session", limits.errors_per_session, "20", 1, 100000),
	UINT("limits", "auth_failures", limits.auth_failures, "3", 1, 1000),
	SIZE("limits", "output_buffer", limits.output_buffer, "262144", 1 * KIB, 1 * GIB),
	UINT("limits", "tls_handshake_timeout", limits.tls_handshake_timeout, "30", 1, 3600),
	UINT("limits", "login_timeout", limits.login_timeout, "60", 0, 86400),
	UINT("limits", "min_input_rate", limits.min_input_rate, "64", 0, 1000000000),
	UINT("limits", "slow_input_timeout", limits.slow_input_timeout, "30", 1, 86400),
	SIZE("limits", "min_free_space", limits.min_free_space, "268435456", 0, 1024 * GIB),

	UINT("pop3", "idle_timeout", pop3.conn.idle_timeout, "600", 0, 86400),
	UINT("pop3", "line_length", pop3.conn.line_length, "8192", 512, 1048576),
	UINT("smtp", "idle_timeout", smtp.conn.idle_timeout, "300", 0, 86400),
	UINT("smtp", "line_length", smtp.conn.line_length, "1036", 512, 1048576),
	UINT("smtp", "data_timeout", smtp.data_timeout, "300", 0, 86400),
	STRING("smtp", "trusted_networks", smtp.trusted_networks, "", config_check_networks),
	/* Postfix's hopcount_limit; RFC 5321 6.3 suggests 100. */
	UINT("smtp", "max_received", smtp.max_received, "50", 1, 1000),
	STRING("smtp", "subaddress_separator", smtp.subaddress_separator, "+",
	       config_check_separator),
	STRING("smtp", "postmaster", smtp.postmaster, "", config_check_account),
	STRING("smtp", "sender_login", smtp.sender_login, "aliases", config_check_sender_login),
	UINT("smtp", "pregreet_delay", smtp.pregreet_delay, "6", 0, 60),
	STRING("smtp", "address_preference", smtp.address_preference, "ipv6",
	       config_check_address_preference),
	/* RFC 5321 4.5.3.2's minimums are the defaults. */
	UINT("smtp", "client_greeting_timeout", smtp.client_greeting_timeout, "300", 1, 86400),
	UINT("smtp", "client_command_timeout", smtp.client_command_timeout, "300", 1, 86400),
	UINT("smtp", "client_rcpt_timeout", smtp.client_rcpt_timeout, "300", 1, 86400),
	UINT("smtp", "client_data_timeout", smtp.client_data_timeout, "120", 1, 86400),
	UINT("smtp", "client_block_timeout", smtp.client_block_timeout, "180", 1, 86400),
	UINT("smtp", "client_dot_timeout", smtp.client_dot_timeout, "600", 1, 86400),
	/* as the server's [limits] min_input_rate: a slow reader's bound */
	UINT("smtp", "client_min_data_rate", smtp.client_min_data_rate, "1024", 0, 1073741824),
	UINT("imap", "idle_timeout", imap.conn.idle_timeout, "1800", 0, 86400),
	UINT("imap", "line_length", imap.conn.line_length, "65536", 512, 1048576),
	UINT("imap", "idle_keepalive", imap.idle_keepalive, "120", 1, 3600),
	UINT("imap", "release_after", imap.release_after, "30", 1, 3600),

	/* 5 minutes doubling to 4 hours, 5 days, a warning after 4 hours:
	 * Postfix's figures, and RFC 5321 4.5.4.1's "at least 4-5 days" */
	UINT("queue", "retry_first", queue.retry_first, "300", 1, 86400),
	UINT("queue", "retry_max", queue.retry_max, "14400", 1, 604800),
	UINT("queue", "lifetime", queue.lifetime, "432000", 1, 8640000),
	UINT("queue", "delay_warning", queue.delay_warning, "14400", 0, 8640000),
	BOOL("queue", "srs", queue.srs, "yes"),
	/* queue-route.c parses the table and the host at the queue's start */
	STRING("queue", "transport", queue.transport, "", NULL),
	STRING("queue", "relayhost", queue.relayhost, "", NULL),
	STRING("queue", "relayhost_tls", queue.relayhost_tls, "may", config_check_client_tls),
	BOOL("queue", "relayhost_implicit_tls", queue.relayhost_implicit_tls, "no"),
	STRING("queue", "relayhost_user", queue.relayhost_user, "", NULL),
	SECRET("queue", "relayhost_password", queue.relayhost_password),
	BOOL("queue", "relayhost_auth_unverified", queue.relayhost_auth_unverified, "no"),
	/* Postfix's default_destination_concurrency_limit */
	UINT("queue", "destination_concurrency", queue.destination_concurrency, "20", 1, 1000),
	/* Postfix's default_process_limit, which bounds its smtp clients */
	UINT("queue", "connections", queue.connections, "100", 1, 10000),
	/* Postfix's smtp_connection_cache_time_limit, smtp_connection_reuse_time_limit */
	UINT("queue", "connection_cache_time", queue.connection_cache_time, "2", 0, 300),
	UINT("queue", "connection_reuse_time", queue.connection_reuse_time, "300", 1, 86400),
	STRING("queue", "source_address", queue.source_address, "", config_check_source_address),

	BOOL("auth", "allow_plaintext_loopback", auth.allow_plaintext_loopback, "no"),
	UINT("auth", "cache_ttl", auth.cache_ttl, "3600", 0, 86400),
	UINT("auth", "attempts_per_ip", auth.attempts_per_ip, "8", 1, 10000),
	UINT("auth", "hash_queue", auth.hash_queue, "0", 0, 1000000),
	BOOL("auth", "rehash", auth.rehash, "yes"),
	/* The floors keep tern's own new hashes (argon2id t=3, 32 MiB) and
	 * crypt()'s default 5000 rounds acceptable. */
	UINT("auth", "bcrypt_cost_max", auth.bcrypt_cost_max, "12", 4, 31),
	UINT("auth", "sha512_rounds_max", auth.sha512_rounds_max, "100000", 5000, 999999999),
	SIZE("auth", "argon2_memory_max", auth.argon2_memory_max, "268435456", 32 * MIB, 4 * GIB),
	UINT("auth", "argon2_passes_max", auth.argon2_passes_max, "10", 3, 1000),

	/* RFC 7162 3.2.5.1 sets no bound; Dovecot keeps its log for days. */
	UINT("store", "expunge_horizon", store.expunge_horizon, "2592000", 0, 315360000),

	STRING("dns", "servers", dns.servers, "", config_check_dns),
	UINT("dns", "timeout", dns.timeout, "5", 1, 60),

	STRING("log", "level", log.level, "info", config_check_log_level),
};

static char *config_reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *config_reason(const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static char *config_strdup(const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		abort();
	return copy;
}

/* Bounded, escaped copy of untrusted text for an error message. */
static const char *config_quote(char *out, size_t outsize, const char *s, size_t len)
{
	log_escape(out, outsize, s, len < CONFIG_QUOTE_MAX ? len : CONFIG_QUOTE_MAX);
	if (len > CONFIG_QUOTE_MAX && strlen(out) + 4 <= outsize)
		strcat(out, "...");
	return out;
}

/* ---- checks of string values ---- */

static char *config_check_hostname(const char *value)
{
	size_t len = strlen(value);

	if (len == 0 || len > 253)
		return config_reason("must be a host name of 1 to 253 characters");
	for (size_t i = 0; i < len; i++) {
		char c = value[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
			return config_reason("'%c' does not belong in a host name", c);
	}
	return NULL;
}

static char *config_check_nonempty(const char *value)
{
	return value[0] == '\0' ? config_reason("must not be empty") : NULL;
}

/* "" (no socket for local users), or an absolute path short enough for
 * a socket address (108 octets) to hold it and "/sendmail.sock". */
static char *config_check_public_dir(const char *value)
{
	if (value[0] == '\0')
		return NULL;
	if (value[0] != '/')
		return config_reason("must be an absolute path, or empty");
	if (strlen(value) > CONFIG_PUBLIC_DIR_MAX)
		return config_reason("must be at most %d characters (a socket's path is short)",
				     CONFIG_PUBLIC_DIR_MAX);
	return NULL;
}

static char *config_check_listen(const char *value)
{
	struct addr_spec *specs;
	size_t n;
	char *error;

	if (addr_list_parse(value, &specs, &n, &error) < 0)
		return error;
	free(specs);
	return NULL;
}

/* ADDR[:PORT], ...: an address without a port means port 53. Each element
 * is checked by the listener parser after adding the default port. */
static char *config_check_dns(const char *value)
{
	const char *p = value;

	while (*p != '\0') {
		const char *start, *end;
		size_t len, colons = 0;
		struct addr_spec *specs;
		size_t n;
		char *error = NULL, *elem;

		while (*p == ' ' || *p == '\t')
			p++;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		len = (size_t)(end - start);
		if (len == 0)
			return config_reason("empty element in the server list");
		for (size_t i = 0; i < len; i++)
			colons += start[i] == ':';
		if (start[0] == '[' || colons == 1)
			elem = config_reason("%.*s", (int)len, start);
		else if (colons == 0)
			elem = config_reason("%.*s:53", (int)len, start);
		else
			elem = config_reason("[%.*s]:53", (int)len, start);
		if (elem[0] == '*' || strncmp(elem, "localhost:", 10) == 0) {
			free(elem);
			return config_reason("a DNS server must be an IP address");
		}
		if (addr_list_parse(elem, &specs, &n, &error) < 0) {
			free(elem);
			return error;
		}
		free(specs);
		free(elem);
		if (*p == ',')
			p++;
	}
	return NULL;
}

static char *config_check_log_level(const char *value)
{
	if (log_level_parse(value) < 0)
		return config_reason("must be debug, info, warn or error");
	return NULL;
}

static char *config_check_networks(const char *value)
{
	struct cidr_list *list;
	char *error;

	if (cidr_list_parse(value, &list, &error) < 0)
		return error;
	cidr_list_free(&list);
	return NULL;
}

/* Characters that may separate a sub-address tag: RFC 5322 atext that is
 * neither a letter nor a digit ('/' names folders and is refused in local
 * parts). */
static char *config_check_separator(const char *value)
{
	if (strlen(value) > 8)
		return config_reason("at most 8 separator characters");
	for (const char *p = value; *p != '\0'; p++)
		if (strchr("!#$%&'*+-=?^_`{|}~", *p) == NULL)
			return config_reason("'%c' cannot separate a sub-address (use characters "
					     "such as + - _ =)", *p);
	return NULL;
}

/* An account's address, or nothing. The directory's own rules apply at
 * use; this catches what is plainly not an address. */
static char *config_check_account(const char *value)
{
	const char *at = strchr(value, '@');

	if (value[0] == '\0')
		return NULL;
	if (at == NULL || at == value || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    strpbrk(value, " \t,<>") != NULL)
		return config_reason("must be an account's address (local@domain) or empty");
	return NULL;
}

static char *config_check_sender_login(const char *value)
{
	if (strcmp(value, "aliases") != 0 && strcmp(value, "account") != 0 &&
	    strcmp(value, "any") != 0)
		return config_reason("must be aliases, account or any");
	return NULL;
}

/* At most one IPv4 and one IPv6 address, separated by a comma. */
static char *config_check_source_address(const char *value)
{
	char copy[2 * INET6_ADDRSTRLEN + 2], *save = NULL;
	bool v4 = false, v6 = false;

	if (strlen(value) >= sizeof(copy))
		return config_reason("expected an IPv4 and/or an IPv6 address");
	strcpy(copy, value);
	for (char *t = strtok_r(copy, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
		struct in6_addr a;

		if (inet_pton(AF_INET, t, &a) == 1 && !v4)
			v4 = true;
		else if (inet_pton(AF_INET6, t, &a) == 1 && !v6)
			v6 = true;
		else
			return config_reason("expected an IPv4 and/or an IPv6 address");
	}
	return NULL;
}

/* The words of smtp-client.h's enum smtp_client_tls. */
static char *config_check_client_tls(const char *value)
{
	static const char *const words[] = { "none", "may", "encrypt", "verify" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(value, words[i]) == 0)
			return NULL;
	return config_reason("expected none, may, encrypt or verify");
}

static char *config_check_address_preference(const char *value)
{
	enum address_preference pref;

	if (address_preference_parse(value, &pref) < 0)
		return config_reason("must be ipv6, ipv4, ipv6-only or ipv4-only");
	return NULL;
}

/* ---- values ---- */

static int config_parse_bool(const char *value, bool *b_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*b_r = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*b_r = false;
			return 0;
		}
	}
	return -1;
}

/* Decimal digits, and for sizes one of the suffixes K, M, G (powers of
 * 1024). Returns 0, -1 when malformed, -2 when it overflows 64 bits. */
static int config_parse_number(const char *value, bool size, uint64_t *n_r)
{
	uint64_t n = 0, mult = 1;
	const char *p = value;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -2;
		n = n * 10 + d;
	}
	if (size && *p != '\0' && p[1] == '\0') {
		switch (*p) {
		case 'k': case 'K': mult = KIB; break;
		case 'm': case 'M': mult = MIB; break;
		case 'g': case 'G': mult = GIB; break;
		default: return -1;
		}
		p++;
	}
	if (*p != '\0')
		return -1;
	if (n > UINT64_MAX / mult)
		return -2;
	*n_r = n * mult;
	return 0;
}

int config_parse_size(const char *value, uint64_t *bytes_r)
{
	return config_parse_number(value, true, bytes_r);
}

/* Set one key from its text. Returns 0, or -1 with a malloc'd reason. */
static int config_set(struct config *cfg, const struct config_key *k, const char *value,
		      char **reason_r)
{
	void *field = (char *)cfg + k->offset;
	uint64_t n;
	bool b;
	int ret;

	*reason_r = NULL;
	if (strlen(value) > CONFIG_LINE_MAX) {
		*reason_r = config_reason("value is longer than %d bytes", CONFIG_LINE_MAX);
		return -1;
	}
	for (const char *p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*reason_r = config_reason("value contains a control character");
			return -1;
		}
		/* The file syntax reads " ;" as the start of a comment, so a
		 * value holding it could not be written back by `tern check`. */
		if (*p == ';' && (p == value || p[-1] == ' ' || p[-1] == '\t')) {
			*reason_r = config_reason("value has a ';' at its start or after a space, which starts a comment");
			return -1;
		}
	}
	switch (k->type) {
	case CONFIG_STRING:
		if (k->check != NULL && (*reason_r = k->check(value)) != NULL)
			return -1;
		free(*(char **)field);
		*(char **)field = config_strdup(value);
		return 0;
	case CONFIG_BOOL:
		if (config_parse_bool(value, &b) < 0) {
			*reason_r = config_reason("must be yes or no (also true/false, on/off, 1/0)");
			return -1;
		}
		*(bool *)field = b;
		return 0;
	case CONFIG_UINT:
	case CONFIG_SIZE:
		ret = config_parse_number(value, k->type == CONFIG_SIZE, &n);
		if (ret == -1) {
			*reason_r = config_reason(k->type == CONFIG_SIZE ?
				"must be a number of bytes, optionally with a K, M or G suffix" :
				"must be a whole number");
			return -1;
		}
		if (ret < 0 || n < k->min || n > k->max) {
			*reason_r = config_reason("must be from %llu to %llu",
						  (unsigned long long)k->min,
						  (unsigned long long)k->max);
			return -1;
		}
		if (k->type == CONFIG_UINT)
			*(unsigned *)field = (unsigned)n;
		else
			*(uint64_t *)field = n;
		return 0;
	}
	abort();
}

static bool config_section_known(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_sections); i++) {
		if (strlen(config_sections[i]) == len && memcmp(config_sections[i], name, len) == 0)
			return true;
	}
	return false;
}

/* Returns the row, or NULL with a malloc'd reason. */
static const struct config_key *config_lookup(const char *section, const char *key,
					      char **reason_r)
{
	*reason_r = NULL;
	if (!config_section_known(section, strlen(section))) {
		*reason_r = config_reason("unknown section (known: server, listen, tls, limits, pop3, smtp, imap, auth, store, dns, log)");
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].key, key) == 0)
			return &config_keys[i];
	}
	*reason_r = config_reason("unknown key");
	return NULL;
}

static void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		const struct config_key *k = &config_keys[i];
		char host[256];
		const char *def = k->def;
		char *reason;

		if (def == NULL) {
			/* server.hostname: this machine's name, if it is one */
			char *bad;

			if (gethostname(host, sizeof(host)) < 0)
				host[0] = '\0';
			host[sizeof(host) - 1] = '\0';
			bad = config_check_hostname(host);
			def = bad == NULL ? host : "localhost";
			free(bad);
		}
		if (config_set(cfg, k, def, &reason) < 0)
			abort();    /* a default that does not pass its own check */
	}
}

void config_free(struct config *cfg)
{
	free(cfg->path);
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		if (config_keys[i].type == CONFIG_STRING)
			free(*(char **)((char *)cfg + config_keys[i].offset));
	}
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- the file ---- */

struct config_parse {
	struct config *cfg;
	bool seen[ARRAY_SIZE(config_keys)];
	char *error;    /* "[section] key: reason" from the handler */
};

static int config_ini_handler(void *user, const char *section, const char *name,
			      const char *value)
{
	struct config_parse *ctx = user;
	const struct config_key *k;
	char qsec[CONFIG_QUOTE_MAX * 4 + 8], qkey[CONFIG_QUOTE_MAX * 4 + 8];
	char *reason = NULL;

	if (section[0] == '\0') {
		reason = config_reason("key outside any [section]");
	} else if ((k = config_lookup(section, name, &reason)) != NULL) {
		size_t idx = (size_t)(k - config_keys);

		if (ctx->seen[idx])
			reason = config_reason("set twice");
		else if (config_set(ctx->cfg, k, value, &reason) == 0)
			ctx->seen[idx] = true;
	}
	if (reason == NULL)
		return 1;
	config_quote(qsec, sizeof(qsec), section, strlen(section));
	config_quote(qkey, sizeof(qkey), name, strlen(name));
	free(ctx->error);
	ctx->error = config_reason("[%s] %s: %s", qsec, qkey, reason);
	free(reason);
	return 0;
}

/* What inih does not report by itself: over-long lines (it would cut them)
 * and sections that hold no key. Returns the line of the first problem, or
 * 0, with a malloc'd message in *error_r. */
static int config_prescan(const char *text, char **error_r)
{
	const char *line = text;

	for (int lineno = 1; *line != '\0'; lineno++) {
		const char *eol = strchr(line, '\n');
		size_t len = eol != NULL ? (size_t)(eol - line) : strlen(line);
		const char *p = line;

		if (len > CONFIG_LINE_MAX) {
			*error_r = config_reason("line is longer than %d bytes", CONFIG_LINE_MAX);
			return lineno;
		}
		if (lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
			p += 3;
		while (p < line + len && (*p == ' ' || *p == '\t' || *p == '\r' ||
					  *p == '\v' || *p == '\f'))
			p++;
		if (p < line + len && *p == '[') {
			const char *close = memchr(p, ']', (size_t)(line + len - p));
			char q[CONFIG_QUOTE_MAX * 4 + 8];

			if (close != NULL && !config_section_known(p + 1, (size_t)(close - p - 1))) {
				config_quote(q, sizeof(q), p + 1, (size_t)(close - p - 1));
				*error_r = config_reason("[%s]: unknown section (known: server, listen, tls, limits, pop3, smtp, imap, auth, store, dns, log)", q);
				return lineno;
			}
		}
		if (eol == NULL)
			break;
		line = eol + 1;
	}
	return 0;
}

static int config_parse_text(struct config *cfg, const char *name, const char *text,
			     char **error_r)
{
	struct config_parse ctx = { .cfg = cfg };
	char *pre_error = NULL;
	int pre_line, line;

	pre_line = config_prescan(text, &pre_error);

	/* Debian's inih exposes its compile-time options as variables. */
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_initial_alloc = 256;
	ini_max_line = CONFIG_LINE_MAX + 3;
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	ini_allow_no_value = false;
	ini_allow_inline_comments = true;
	ini_allow_bom = true;
	line = ini_parse_string(text, config_ini_handler, &ctx);
	if (line == -2)
		abort();
	if (line > 0 && (pre_line == 0 || line < pre_line)) {
		if (ctx.error != NULL)
			*error_r = config_reason("%s:%d: %s", name, line, ctx.error);
		else
			*error_r = config_reason("%s:%d: syntax error: expected [section], key = value or a comment",
						 name, line);
	} else if (pre_line > 0) {
		*error_r = config_reason("%s:%d: %s", name, pre_line, pre_error);
	}
	free(ctx.error);
	free(pre_error);
	return *error_r != NULL ? -1 : 0;
}

/* Checks that span keys, after the file and every --set. */
static int config_finish(const struct config *cfg, const char *name, char **error_r)
{
	if ((cfg->tls.cert[0] == '\0') != (cfg->tls.key[0] == '\0')) {
		*error_r = config_reason("%s: [tls] cert and key: set both, or neither (then a self-signed pair is generated)",
					 name);
		return -1;
	}
	return 0;
}

int config_load_string(struct config *cfg, const char *name, const char *text,
		       char **error_r)
{
	*error_r = NULL;
	config_defaults(cfg);
	if (config_parse_text(cfg, name, text, error_r) < 0 ||
	    config_finish(cfg, name, error_r) < 0) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

/* Read a whole configuration file (bounded). Returns a malloc'd string.
 * A symlink is followed (/etc/tern/tern.conf often is one); anything but a
 * regular file is refused, and O_NONBLOCK keeps a FIFO from blocking the
 * open until a writer comes. */
static char *config_read_file(const char *path, char **error_r)
{
	struct stat st;
	char *text;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		*error_r = config_reason("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		*error_r = config_reason("%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	text = malloc(CONFIG_FILE_MAX + 1);
	if (text == NULL)
		abort();
	for (;;) {
		ssize_t n = read(fd, text + len, CONFIG_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = config_reason("%s: cannot read: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			*error_r = config_reason("%s: larger than %d bytes", path, CONFIG_FILE_MAX);
			break;
		}
	}
	close(fd);
	if (*error_r == NULL) {
		const char *nul = memchr(text, '\0', len);

		if (nul != NULL) {
			int lineno = 1;

			for (const char *p = text; p < nul; p++)
				lineno += *p == '\n';
			*error_r = config_reason("%s:%d: NUL byte in the file", path, lineno);
		}
	}
	if (*error_r != NULL) {
		free(text);
		return NULL;
	}
	text[len] = '\0';
	return text;
}

/* Which file to read: NULL when none was named and none of the default
 * places holds one. */
static const char *config_find(const char *path)
{
	static const char *const places[] = { "/etc/tern/tern.conf", "./tern.conf" };
	const char *env = getenv("TERN_CONFIG");
	struct stat st;

	if (path != NULL)
		return path;
	if (env != NULL && env[0] != '\0')
		return env;
	for (size_t i = 0; i < ARRAY_SIZE(places); i++) {
		/* A file that exists but cannot be read is an error, reported
		 * when it is opened; only absence moves on to the next. */
		if (stat(places[i], &st) == 0 || errno != ENOENT)
			return places[i];
	}
	return NULL;
}

/* "section.key=value". */
static int config_apply_set(struct config *cfg, const char *set, char **error_r)
{
	const char *eq = strchr(set, '=');
	const char *dot = eq != NULL ? memchr(set, '.', (size_t)(eq - set)) : NULL;
	char q[CONFIG_QUOTE_MAX * 4 + 8];
	const struct config_key *k = NULL;
	char *section = NULL, *key = NULL, *reason = NULL;
	const char *value;
	size_t vlen;

	if (eq == NULL || dot == NULL) {
		reason = config_reason("expected section.key=value");
	} else {
		const char *s = set, *se = dot, *ks = dot + 1, *ke = eq;

		while (s < se && (*s == ' ' || *s == '\t'))
			s++;
		while (ke > ks && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		section = config_reason("%.*s", (int)(se - s), s);
		key = config_reason("%.*s", (int)(ke - ks), ks);
		k = config_lookup(section, key, &reason);
	}
	if (k != NULL) {
		char *v;

		value = eq + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		vlen = strlen(value);
		while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
			vlen--;
		v = config_reason("%.*s", (int)vlen, value);
		config_set(cfg, k, v, &reason);
		free(v);
	}
	free(section);
	free(key);
	if (reason == NULL)
		return 0;
	if (k != NULL && k->secret)
		*error_r = config_reason("--set %s.%s=...: %s", k->section, k->key, reason);
	else
		*error_r = config_reason("--set %s: %s", config_quote(q, sizeof(q), set, strlen(set)),
					 reason);
	free(reason);
	return -1;
}

int config_load(struct config *cfg, const char *path, const char *const *sets,
		size_t n_sets, char **error_r)
{
	const char *file;
	char *text;

	*error_r = NULL;
	config_defaults(cfg);
	file = config_find(path);
	if (file != NULL) {
		text = config_read_file(file, error_r);
		if (text == NULL)
			goto fail;
		if (config_parse_text(cfg, file, text, error_r) < 0) {
			free(text);
			goto fail;
		}
		free(text);
	}
	for (size_t i = 0; i < n_sets; i++) {
		if (config_apply_set(cfg, sets[i], error_r) < 0)
			goto fail;
	}
	if (config_finish(cfg, file != NULL ? file : "configuration", error_r) < 0)
		goto fail;
	cfg->path = file != NULL ? config_strdup(file) : NULL;
	return 0;
fail:
	config_free(cfg);
	return -1;
}

/* ---- output ---- */

void config_print(const struct config *cfg, FILE *out)
{
	char q[512];

	if (cfg->path != NULL)
		fprintf(out, "# tern configuration: effective values, read from %s\n",
			log_escape(q, sizeof(q), cfg->path, strlen(cfg->path)));
	else
		fprintf(out, "# tern configuration: effective values (no file read: built-in defaults and --set)\n");
	for (size_t s = 0; s < ARRAY_SIZE(config_sections); s++) {
		fprintf(out, "\n[%s]\n", config_sections[s]);
		for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
			const struct config_key *k = &config_keys[i];
			const void *field = (const char *)cfg + k->offset;

			if (strcmp(k->section, config_sections[s]) != 0)
				continue;
			if (k->secret) {
				fprintf(out, "# %s = (secret, not shown)\n", k->key);
				continue;
			}
			switch (k->type) {
			case CONFIG_STRING:
				fprintf(out, "%s = %s\n", k->key, *(char *const *)field);
				break;
			case CONFIG_BOOL:
				fprintf(out, "%s = %s\n", k->key, *(const bool *)field ? "yes" : "no");
				break;
			case CONFIG_UINT:
				fprintf(out, "%s = %u\n", k->key, *(const unsigned *)field);
				break;
			case CONFIG_SIZE:
				fprintf(out, "%s = %llu\n", k->key,
					(unsigned long long)*(const uint64_t *)field);
				break;
			}
		}
	}
}
