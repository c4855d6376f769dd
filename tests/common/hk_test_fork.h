/* Forking children while the parent's threads keep allocating (stress/stress_fork.c,
 * stress/stress_fork_diag.c, integration/test_fork.c).
 *
 *   hk_fork_children(&plan)   forks plan.forks children, at most plan.parallel alive at once,
 *                             and returns when every one has been reaped
 *
 * Child `id` runs plan.child(id), whose result is its exit status (0: passed); a child that
 * passed with an odd id leaves through exit(), so that atexit handlers and hakmem's exit
 * report run in half of them, every other through _exit(). A child that exits non-zero, dies
 * of a signal (its own alarm: a lock held across fork) or is still running plan.deadline_s
 * after its fork (it is killed then) is a failure of the test. The parent's side never
 * allocates: its other threads are inside malloc while it forks. */
#ifndef HK_TEST_FORK_H
#define HK_TEST_FORK_H

#include "hk_test.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>

#define HK_FORK_MAX_PARALLEL 64

struct hk_fork_plan {
    int forks;                    /* children in all */
    int parallel;                 /* alive at once: 1 .. HK_FORK_MAX_PARALLEL */
    unsigned deadline_s;          /* seconds from its fork until a running child is killed */
    int (*child)(int id);         /* the child's work: its exit status */
    void (*before_fork)(int id);  /* run by the parent before each fork; NULL for none */
    bool hold_hung;               /* leave a child past its deadline running (to attach gdb) */
};

struct hk_fork_kid {
    pid_t pid;
    int id;
    time_t deadline;
    bool held;                    /* past its deadline, left running (hold_hung) */
};

/* A short wait that leaves the CPU to the children. */
static inline void hk_fork_pause(void)
{
    struct timespec ts = {0, 50 * 1000};
    nanosleep(&ts, NULL);
}

/* A child that ended: its status. */
static inline void hk_fork_check_status(const struct hk_fork_kid *k, int st)
{
    if (WIFSIGNALED(st))
        test_fail("child %d killed by signal %d%s", k->id, WTERMSIG(st),
                  WTERMSIG(st) == SIGALRM ? " (its alarm: deadlock after fork?)" : "");
    else if (WEXITSTATUS(st) != 0)
        test_fail("child %d exited with status %d", k->id, WEXITSTATUS(st));
}

/* A child past its deadline: killed and reaped (true), or with hold_hung left running and
 * named once (false). */
static inline bool hk_fork_overdue(const struct hk_fork_plan *plan, struct hk_fork_kid *k)
{
    if (plan->hold_hung) {
        if (!k->held) {
            char buf[128];
            size_t n = hk_test_append_(buf, sizeof buf, 0,
                                       "HUNG child %d pid %d (parent pid %d): left running\n",
                                       k->id, (int)k->pid, (int)getpid());
            hk_test_write_(buf, n);
        }
        k->held = true;
        return false;
    }
    test_fail("child %d (pid %d) still running after %u s: deadlock after fork?", k->id,
              (int)k->pid, plan->deadline_s);
    kill(k->pid, SIGKILL);
    waitpid(k->pid, NULL, 0);
    return true;
}

/* Reaps the children that ended or are overdue; with block, until fewer than
 * plan->parallel are alive. */
static inline void hk_fork_reap(const struct hk_fork_plan *plan, struct hk_fork_kid *k, int *nk,
                                bool block)
{
    for (;;) {
        for (int i = 0; i < *nk; i++) {
            int st = 0;
            pid_t p = waitpid(k[i].pid, &st, WNOHANG);
            bool gone = p != 0;
            if (p == k[i].pid)
                hk_fork_check_status(&k[i], st);
            else if (p == 0 && time(NULL) > k[i].deadline)
                gone = hk_fork_overdue(plan, &k[i]);
            if (gone)
                k[i--] = k[--*nk];
        }
        if (!block || *nk < plan->parallel)
            return;
        hk_fork_pause();
    }
}

/* In the child: its work, then the way out (see the top of this file). */
static inline __attribute__((noreturn)) void hk_fork_child_run(const struct hk_fork_plan *plan,
                                                               int id)
{
    int rc = plan->child(id);
    if (rc == 0 && id % 2)
        exit(0);
    _exit(rc);
}

static inline void hk_fork_children(const struct hk_fork_plan *plan)
{
    struct hk_fork_kid kids[HK_FORK_MAX_PARALLEL];
    int nk = 0;
    if (plan->parallel < 1 || plan->parallel > HK_FORK_MAX_PARALLEL)
        test_fatal("hk_fork_children: %d children at once", plan->parallel);
    for (int id = 0; id < plan->forks; id++) {
        hk_fork_reap(plan, kids, &nk, true);
        if (plan->before_fork)
            plan->before_fork(id);
        pid_t p = fork();
        if (p < 0)
            test_fatal("fork (errno %d)", errno);
        if (p == 0)
            hk_fork_child_run(plan, id);
        kids[nk++] = (struct hk_fork_kid){p, id, time(NULL) + (time_t)plan->deadline_s, false};
        if (id % 8 == 0)
            hk_fork_pause();
    }
    while (nk) {
        hk_fork_reap(plan, kids, &nk, false);
        if (nk)
            hk_fork_pause();
    }
}

#endif
