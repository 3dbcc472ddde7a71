/* smtp-pregreet - the table of addresses that passed the pregreet test;
 * see smtp-pregreet.h. Open addressing over a fixed array: an address
 * hashes to a group of SMTP_PREGREET_WAYS slots and lives in one of them;
 * a new one takes a free or expired slot of its group, else the oldest. */
#include "smtp/smtp-pregreet.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SMTP_PREGREET_SLOTS_DEFAULT 8192
#define SMTP_PREGREET_WAYS 4

struct smtp_pregreet_slot {
	unsigned char addr[16];   /* IPv4 as an IPv4-mapped IPv6 address */
	time_t passed;            /* 0: free */
};

struct smtp_pregreet {
	pthread_mutex_t lock;
	size_t groups;
	struct smtp_pregreet_slot *slots;
	/* A per-process random key, so that nobody can aim addresses at one
	 * group to push an entry out. */
	uint64_t key;
};

struct smtp_pregreet *smtp_pregreet_new(size_t slots)
{
	struct smtp_pregreet *p = calloc(1, sizeof(*p));

	if (p == NULL)
		abort();
	if (slots == 0)
		slots = SMTP_PREGREET_SLOTS_DEFAULT;
	p->groups = (slots + SMTP_PREGREET_WAYS - 1) / SMTP_PREGREET_WAYS;
	p->slots = calloc(p->groups * SMTP_PREGREET_WAYS, sizeof(*p->slots));
	if (p->slots == NULL)
		abort();
	pthread_mutex_init(&p->lock, NULL);
	if (getrandom(&p->key, sizeof(p->key), 0) != sizeof(p->key))
		p->key = (uint64_t)time(NULL);
	return p;
}

void smtp_pregreet_free(struct smtp_pregreet **pregreet)
{
	struct smtp_pregreet *p = *pregreet;

	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p->slots);
	free(p);
	*pregreet = NULL;
}

static bool smtp_pregreet_addr(const char *ip, unsigned char addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET6, ip, addr) == 1)
		return true;
	addr[10] = addr[11] = 0xff;
	return inet_pton(AF_INET, ip, addr + 12) == 1;
}

/* The first slot of the address's group (FNV-1a, keyed). */
static struct smtp_pregreet_slot *smtp_pregreet_group(struct smtp_pregreet *p,
						      const unsigned char addr[16])
{
	uint64_t h = 0xcbf29ce484222325ULL ^ p->key;

	for (size_t i = 0; i < 16; i++) {
		h ^= addr[i];
		h *= 0x100000001b3ULL;
	}
	return &p->slots[(h % p->groups) * SMTP_PREGREET_WAYS];
}

bool smtp_pregreet_passed(struct smtp_pregreet *p, const char *ip, time_t now)
{
	unsigned char addr[16];
	struct smtp_pregreet_slot *group;
	bool found = false;

	if (!smtp_pregreet_addr(ip, addr))
		return false;
	pthread_mutex_lock(&p->lock);
	group = smtp_pregreet_group(p, addr);
	for (size_t i = 0; i < SMTP_PREGREET_WAYS; i++) {
		if (group[i].passed != 0 && memcmp(group[i].addr, addr, 16) == 0) {
			found = now - group[i].passed < SMTP_PREGREET_REMEMBER;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return found;
}

void smtp_pregreet_remember(struct smtp_pregreet *p, const char *ip, time_t now)
{
	unsigned char addr[16];
	struct smtp_pregreet_slot *group, *slot = NULL;

	if (!smtp_pregreet_addr(ip, addr))
		return;
	pthread_mutex_lock(&p->lock);
	group = smtp_pregreet_group(p, addr);
	for (size_t i = 0; i < SMTP_PREGREET_WAYS && slot == NULL; i++)
		if (group[i].passed != 0 && memcmp(group[i].addr, addr, 16) == 0)
			slot = &group[i];
	for (size_t i = 0; i < SMTP_PREGREET_WAYS && slot == NULL; i++)
		if (group[i].passed == 0 || now - group[i].passed >= SMTP_PREGREET_REMEMBER)
			slot = &group[i];
	if (slot == NULL) {
		slot = &group[0];
		for (size_t i = 1; i < SMTP_PREGREET_WAYS; i++)
			if (group[i].passed < slot->passed)
				slot = &group[i];
	}
	memcpy(slot->addr, addr, 16);
	slot->passed = now;
	pthread_mutex_unlock(&p->lock);
}
