/* config - the INI configuration: schema, defaults, --set overrides.
 *
 * Every key tern knows is one row of the schema table in config.c, with its
 * type, default and the field of struct config it fills. An unknown section
 * or key, or a value that does not parse, is an error that names the file,
 * the line and the key. `--set section.key=value` overrides are applied after
 * the file, in order. docs/configuration.md documents every key. */
#ifndef TERN_CORE_CONFIG_H
#define TERN_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The longest [server] public_dir: with "/sendmail.sock" it fits in a
 * socket address. */
#define CONFIG_PUBLIC_DIR_MAX 90

/* The services a listener can carry. */
enum service {
	SERVICE_SMTP,
	SERVICE_SUBMISSION,
	SERVICE_SUBMISSIONS,
	SERVICE_POP3,
	SERVICE_POP3S,
	SERVICE_IMAP,
	SERVICE_IMAPS,
	SERVICE__COUNT
};
const char *service_name(enum service service);

/* [smtp] address_preference: which addresses of a mail exchanger are
 * tried, in which order. */
enum address_preference {
	ADDRESS_PREFER_IPV6,    /* "ipv6": IPv6 first, then IPv4 */
	ADDRESS_PREFER_IPV4,    /* "ipv4": IPv4 first, then IPv6 */
	ADDRESS_IPV6_ONLY,      /* "ipv6-only" */
	ADDRESS_IPV4_ONLY,      /* "ipv4-only" */
	ADDRESS_PREFERENCE__COUNT
};
const char *address_preference_name(enum address_preference pref);
/* The preference a word names; -1 when it names none. */
int address_preference_parse(const char *value, enum address_preference *pref_r);

/* A protocol's connection limits ([pop3], [smtp], [imap]): the core
 * applies them to every connection of that protocol's listeners. */
struct config_conn {
	unsigned idle_timeout;      /* seconds without input before the session is cut; 0 = none */
	unsigned line_length;       /* longest command line accepted (bytes) */
};

struct config {
	char *path;                 /* file read, or NULL when none was found */

	struct {
		char *hostname;         /* default: gethostname() */
		char *data_dir;         /* default: /var/lib/tern */
		char *user;             /* default: tern; used only when started as root */
		unsigned threads;       /* 0 = number of cores */
		unsigned shutdown_timeout;  /* seconds sessions get to finish on SIGTERM; default 10 */
		unsigned account_linger;    /* seconds an account stays open after its last session; 5; 0 = none */
		/* the folder of the socket `tern sendmail` uses (core/public-dir.h);
		 * default /run/tern; "" = none; at most CONFIG_PUBLIC_DIR_MAX */
		char *public_dir;
	} server;

	/* [listen]: one comma-separated list of ADDR:PORT per service
	 * ("127.0.0.1:110, [::1]:110"); "" turns the service off. */
	char *listen[SERVICE__COUNT];

	struct {
		char *cert;             /* PEM chain; "" = generate self-signed in DATA/tls/ */
		char *key;              /* PEM private key */
		bool ktls;              /* offer kernel TLS (SSL_OP_ENABLE_KTLS); yes */
		char *ca_file;          /* PEM certificates trusted for outbound TLS besides the system store; "" */
	} tls;

	struct {
		uint64_t message_size;      /* 52428800 */
		unsigned recipients;        /* 1000 */
		unsigned connections_per_ip;/* concurrent connections from one address; 50 */
		unsigned connections;       /* concurrent connections in all; 10000 */
		unsigned errors_per_session;/* protocol errors before the server hangs up; 20 */
		unsigned auth_failures;     /* failed logins in one session before hang-up; 3 */
		uint64_t output_buffer;     /* bytes queued for a client before the producer pauses; 262144 */
		unsigned tls_handshake_timeout; /* seconds a TLS handshake may take; 30 */
		unsigned login_timeout;     /* seconds from connect to login (POP3, IMAP, submission); 60; 0 = none */
		unsigned min_input_rate;    /* bytes/s an unfinished line or block must keep up; 64; 0 = none */
		unsigned slow_input_timeout;/* seconds of grace before min_input_rate applies; 30 */
		uint64_t min_free_space;    /* bytes DATA must keep free, or no mail is taken in; 256 MiB; 0 = off */
	} limits;

	struct {
		struct config_conn conn;    /* idle 600 s (RFC 1939 3: at least 10 minutes), lines 8192 */
	} pop3;
	struct {
		struct config_conn conn;    /* idle 300 s (RFC 5321 4.5.3.2.7), lines 1036 (RFC 3461 5.4) */
		unsigned data_timeout;      /* seconds without input inside DATA or a BDAT chunk; 300 */
		char *trusted_networks;     /* CIDR list allowed to relay through port 25; "" = none */
		unsigned max_received;      /* more Received fields than this: 554 5.4.6; 50 */
		char *subaddress_separator; /* characters that start a sub-address tag; "+"; "" = off */
		char *postmaster;           /* the account postmaster@ goes to without an alias; "" */
		char *sender_login;         /* submission senders: "aliases", "account" or "any" */
		unsigned pregreet_delay;    /* port 25: seconds before the greeting ends; 6; 0 = off */
		char *address_preference;   /* outbound: enum address_preference by name; "ipv6" */
		/* outbound: seconds the SMTP client waits (RFC 5321 4.5.3.2) */
		unsigned client_greeting_timeout;  /* for the greeting; 300 */
		unsigned client_command_timeout;   /* for the reply to EHLO, STARTTLS, AUTH, MAIL, RSET, QUIT; 300 */
		unsigned client_rcpt_timeout;      /* for the reply to RCPT; 300 */
		unsigned client_data_timeout;      /* for DATA's 354; 120 */
		unsigned client_block_timeout;     /* for each block of the message to go out, and a BDAT chunk's reply; 180 */
		unsigned client_dot_timeout;       /* for the reply to the final "." or last BDAT; 600 */
		/* the message's data phase may last client_block_timeout plus a
		 * second per this many octets; 1024; 0 = no bound */
		unsigned client_min_data_rate;
	} smtp;
	struct {
		struct config_conn conn;    /* idle 1800 s (RFC 9051 5.4), lines 65536 */
		unsigned idle_keepalive;    /* seconds between IDLE's "* OK Still here"; 120 */
		unsigned release_after;     /* seconds after a command before an idle session gives its account handle back; 30 */
	} imap;

	/* [queue]: retries, expiry, delay warnings (queue/queue-schedule.h), SRS */
	struct {
		unsigned retry_first;       /* seconds after the first failed try; 300 */
		unsigned retry_max;         /* the longest wait between tries (doubling up to it); 14400 */
		unsigned lifetime;          /* seconds after arrival the queue gives up (bounce); 432000 */
		unsigned delay_warning;     /* seconds after arrival the sender is told of a delay; 14400; 0 = never */
		bool srs;                   /* rewrite the sender of forwarded mail (mail/mail-srs.h); yes */
		/* outbound routing (queue/queue-route.h, queue-relay.c) */
		char *transport;            /* "domain=host[:port][/tls], ..."; "" */
		char *relayhost;            /* the smarthost "host[:port]"; "": MX routing */
		char *relayhost_tls;        /* none, may, encrypt, verify; "may" */
		bool relayhost_implicit_tls; /* TLS from the connect (port 465); no */
		char *relayhost_user;       /* AUTH to the smarthost; "": none */
		char *relayhost_password;
		bool relayhost_auth_unverified; /* AUTH also over TLS whose certificate does not verify; no */
		unsigned destination_concurrency; /* connections per destination at once; 20 */
		unsigned connections;     /* outbound SMTP sessions at once, in all; 100 */
		unsigned connection_cache_time; /* seconds an idle connection waits for the next message; 2; 0 = off */
		unsigned connection_reuse_time; /* seconds a connection is used for further messages; 300 */
		char *source_address;       /* outbound connections from these addresses (one IPv4, one IPv6); "" */
	} queue;

	struct {
		/* allow USER/PASS, AUTH PLAIN/LOGIN without TLS from 127.0.0.0/8 and ::1 */
		bool allow_plaintext_loopback;  /* default false */
		/* seconds a verified login is remembered (dir/auth-cache.h); 0 = off */
		unsigned cache_ttl;             /* default 3600 */
		/* login attempts from one address in progress at once; 8 */
		unsigned attempts_per_ip;
		/* password checks waiting for a hash slot; 0 = max(64, 16 x slots) */
		unsigned hash_queue;
		/* replace an older stored hash by argon2id at a successful login; yes */
		bool rehash;
		/* ceilings on the cost of a stored hash (dir/password.h) */
		unsigned bcrypt_cost_max;       /* BLF-CRYPT cost; 12 */
		unsigned sha512_rounds_max;     /* SHA512-CRYPT rounds; 100000 */
		uint64_t argon2_memory_max;     /* argon2 memory, bytes; 256 MiB */
		unsigned argon2_passes_max;     /* argon2 passes (t); 10 */
	} auth;

	struct {
		/* seconds an expunged UID is remembered for QRESYNC; 30 days; 0 = forever */
		unsigned expunge_horizon;
	} store;

	struct {
		char *servers;          /* ADDR[:PORT], ...; "" = /etc/resolv.conf */
		unsigned timeout;       /* seconds a server gets for one try of a query; 5 */
	} dns;

	struct {
		char *level;            /* debug, info, warn, error; default info */
	} log;
};

/* Load configuration. `path` may be NULL: then $TERN_CONFIG, /etc/tern/tern.conf
 * and ./tern.conf are tried in that order, and when none exists the built-in
 * defaults are used. An explicitly given path (argument or $TERN_CONFIG) that
 * cannot be read is an error. `sets` are "section.key=value" strings applied
 * afterwards. On error returns -1 and sets *error_r to a malloc'd one-line
 * message naming file, line and key (caller frees); cfg is then left freed. */
int config_load(struct config *cfg, const char *path, const char *const *sets,
		size_t n_sets, char **error_r);

/* Parse configuration text (the same rules as a file; used by tests and the
 * fuzzer). `name` is what error messages call the source. */
int config_load_string(struct config *cfg, const char *name, const char *text,
		       char **error_r);

/* Print every key with its effective value, as an INI file `tern check`
 * prints. */
void config_print(const struct config *cfg, FILE *out);

void config_free(struct config *cfg);

/* A size as the configuration writes it (the `size` type): decimal bytes,
 * optionally with a K, M or G suffix (powers of 1024, any case: "10M" =
 * 10485760). Returns 0, -1 when malformed, -2 when it overflows 64 bits.
 * Also for command-line options (`tern user add --quota 10M`). */
int config_parse_size(const char *value, uint64_t *bytes_r);

#endif
