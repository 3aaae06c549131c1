/* Golden strings: one seeded example of every task and format, exactly as `lengen data TASK
 * --length N --n 1 --seed 3 --set ...` printed it once and as checked by hand (sums, sorted
 * orders, hint definitions, scratchpad lines, SCAN semantics) when the test was written.
 * A change to a format or to the order of random draws shows up here. */
#include "task_helpers.h"
#include "test.h"

static const struct {
    const char *task;
    int length;
    const char *opts;
    const char *text;
} golden[] = {
    {"sort", 5, "",
         "<sort> 8 10 5 2 26 <sep> 2 5 8 10 26 <eos>"},
    {"sort", 5, "repeat=false values=0..9",
         "<sort> 8 2 3 1 6 <sep> 1 2 3 6 8 <eos>"},
    {"sort_unique", 4, "",
         "<sort_unique> 8 38 49 66 <sep> 8 38 49 66 <eos>"},
    {"successor", 6, "values=0..5",
         "<successor> 2 4 5 4 2 5 <sep> 2 4 5 5 4 <last> <eos>"},
    {"predecessor", 6, "values=0..5",
         "<predecessor> 2 4 5 4 2 5 <sep> <first> 2 4 4 2 5 <eos>"},
    {"rank", 6, "values=0..5",
         "<rank> 2 4 5 4 2 5 <sep> 0 2 4 3 1 5 <eos>"},
    {"fill", 6, "",
         "<fill> 8 10 5 2 26 27 <sep> _ 5 _ 10 26 _ <sep> 2 5 8 10 26 27 <eos>"},
    {"min_prefix", 6, "",
         "<min_prefix> 8 10 5 2 26 27 <sep> 8 8 5 2 2 2 <eos>"},
    {"next_larger", 6, "values=0..5",
         "<next_larger> 2 4 5 4 2 5 <sep> 5 <last> <eos>"},
    {"next_larger", 6, "",
         "<next_larger> 8 10 5 2 26 27 <sep> 5 8 <eos>"},
    {"copies", 6, "values=0..5",
         "<copies> 2 4 5 4 2 5 <sep> 5 2 <eos>"},
    {"increment", 4, "",
         "<increment> 9 5 0 8 <sep> 9 5 0 9 <eos>"},
    {"increment", 4, "reverse=all",
         "<increment> 8 0 5 9 <sep> 9 0 5 9 <eos>"},
    {"addition", 3, "",
         "<addition> 3 2 5 + 3 8 8 = 7 1 3 <eos>"},
    {"addition", 3, "reverse=answer",
         "<addition> 3 2 5 + 3 8 8 = 3 1 7 <eos>"},
    {"addition", 3, "reverse=all",
         "<addition> 5 2 3 + 8 8 3 = 3 1 7 <eos>"},
    {"addition", 3, "pad=true",
         "<addition> 0 3 2 5 + 0 3 8 8 = 0 7 1 3 <eos>"},
    {"addition", 3, "operands=equal",
         "<addition> 2 0 8 + 3 7 6 = 5 8 4 <eos>"},
    {"addition", 3, "index_hints=true hint_alphabet=10",
         "<addition> h5 3 h4 2 h3 5 + h5 3 h4 8 h3 8 = h5 7 h4 1 h3 3 <eos>"},
    {"addition", 3, "format=simple",
         "<addition> 3 2 5 + 3 8 8 = A -> 3 , C -> 1\n"
         "A -> 1 , C -> 1\n"
         "A -> 7 , C -> 0\n"
         "7 1 3 <eos>"},
    {"addition", 3, "format=detailed",
         "<addition> 3 2 5 + 3 8 8 = <scratch>\n"
         "[ 3 , 2 , 5 ] has 3 digits .\n"
         "[ 3 , 8 , 8 ] has 3 digits .\n"
         "[ 3 , 2 , 5 ] + [ 3 , 8 , 8 ] , A = [ ] , C = 0 , 5 + 8 + 0 = 1 3 , A -> 3 , C -> 1\n"
         "[ 3 , 2 ] + [ 3 , 8 ] , A = [ 3 ] , C = 1 , 2 + 8 + 1 = 1 1 , A -> 1 , C -> 1\n"
         "[ 3 ] + [ 3 ] , A = [ 1 , 3 ] , C = 1 , 3 + 3 + 1 = 7 , A -> 7 , C -> 0\n"
         "[ ] + [ ] , A = [ 7 , 1 , 3 ] C = 0 , END\n"
         "</scratch>\n"
         "7 1 3 <eos>"},
    {"addition", 3, "format=steps",
         "<addition> 3 2 5 + 3 8 8 = in 5 , 8 comp 5 + 8 + 0 = 1 3 out 3 [ carry = 1 ] re 3 2 + 3 8 # in 2 , 8 comp 2 + 8 + 1 = 1 1 out 1 [ carry = 1 ] re 3 + 3 # in 3 , 3 comp 3 + 3 + 1 = 7 out 7 [ carry = 0 ] re + # 7 1 3 <eos>"},
    {"addition", 3, "format=steps step_form=nope",
         "<addition> 3 2 5 + 3 8 8 = in 5 , 8 comp 5 + 8 + carry = 1 3 + 0 = 1 3 out 3 [ carry : 1 ] re 3 2 + 3 8 # in 2 , 8 comp 2 + 8 + carry = 1 0 + 1 = 1 1 out 1 [ carry : 1 ] re 3 + 3 # in 3 , 3 comp 3 + 3 + carry = 6 + 1 = 7 out 7 [ carry : 0 ] re + # 7 1 3 <eos>"},
    {"addition", 3, "format=steps step_input=false step_rest=false",
         "<addition> 3 2 5 + 3 8 8 = comp 5 + 8 + 0 = 1 3 out 3 [ carry = 1 ] # comp 2 + 8 + 1 = 1 1 out 1 [ carry = 1 ] # comp 3 + 3 + 1 = 7 out 7 [ carry = 0 ] # 7 1 3 <eos>"},
    {"multiplication", 4, "",
         "<multiplication> 3 2 5 0 * 3 8 8 = 1 2 6 1 0 0 0 <eos>"},
    {"multiplication", 4, "reverse=all",
         "<multiplication> 0 5 2 3 * 8 8 3 = 0 0 0 1 6 2 1 <eos>"},
    {"parity", 8, "",
         "<parity> 0 0 1 0 0 1 0 0 <sep> 0 <eos>"},
    {"parity", 8, "scratchpad=true",
         "<parity> 0 0 1 0 0 1 0 0 <sep> 0 0 1 1 1 0 0 0 = 0 <eos>"},
    {"parity", 8, "answer=even",
         "<parity> 0 0 1 0 0 1 0 0 <sep> yes <eos>"},
    {"parity", 8, "answer=even scratchpad=true",
         "<parity> 0 0 1 0 0 1 0 0 <sep> 0 0 1 1 1 0 0 0 = yes <eos>"},
    {"sum", 5, "",
         "<sum> 8 + 0 + 5 + 2 + 6 = 1 <eos>"},
    {"sum", 5, "digits=1..9",
         "<sum> 3 + 2 + 6 + 2 + 9 = 2 <eos>"},
    {"poly", 3, "",
         "<poly> x = 1 : + 2 * x ^ 1 - 3 * x ^ 2 - 2 * x ^ 2 = 7 <eos>"},
    {"lego", 4, "",
         "<lego> a = + 1 , z = - a , c = - z , q = - c ? c = + 1 <eos>"},
    {"lego", 4, "shuffle=true names=ordered",
         "<lego> b = - a , a = - 1 , d = - c , c = + b ? c = + 1 <eos>"},
    {"lego", 5, "query=second_half",
         "<lego> a = + 1 , z = - a , c = - z , q = - c , h = - q ? q = - 1 <eos>"},
    {"copy", 5, "",
         "<copy> U r Q k d <sep> U r Q k d <eos>"},
    {"copy", 5, "mode=repeat",
         "<copy> a a a a a <sep> a a a a a <eos>"},
    {"copy", 5, "mode=unique alphabet=10",
         "<copy> i c d b g <sep> i c d b g <eos>"},
    {"copy", 5, "mode=replace",
         "<copy> a -> u : a a a a a <sep> u u u u u <eos>"},
    {"copy", 4, "twice=same",
         "<copy> U r Q k <sep> U r Q k <next> U r Q k <eos>"},
    {"copy", 4, "mode=repeat twice=same next=false",
         "<copy> a a a a <sep> a a a a a a a a <eos>"},
    {"reverse", 5, "",
         "<reverse> U r Q k d <sep> d k Q r U <eos>"},
    {"reverse", 4, "twice=same",
         "<reverse> U r Q k <sep> k Q r U <next> k Q r U <eos>"},
    {"reverse", 4, "twice=copy",
         "<reverse> U r Q k <sep> k Q r U <next> U r Q k <eos>"},
    {"duplicate", 4, "",
         "<duplicate> U r Q k <sep> U r Q k U r Q k <eos>"},
    {"unique_copy", 5, "",
         "<unique_copy> a u p U E <sep> a u p U E <eos>"},
    {"count", 5, "",
         "<count> 0 4 <sep> 0 1 2 3 4 <eos>"},
    {"mode", 7, "",
         "<mode> a c b c c d g <sep> c <eos>"},
    {"scan", 10, "",
         "<scan> turn around left and jump opposite left twice <sep> I_TURN_LEFT I_TURN_LEFT I_TURN_LEFT I_TURN_LEFT I_TURN_LEFT I_TURN_LEFT I_JUMP I_TURN_LEFT I_TURN_LEFT I_JUMP <eos>"},
};

TEST(task_golden_strings_of_every_format) {
    char buf[8192];
    for (size_t k = 0; k < sizeof golden / sizeof golden[0]; k++) {
        TG g;
        CHECK(tg_open(&g, golden[k].task, golden[k].opts[0] ? golden[k].opts : NULL) == 0, "%s", g.err.msg);
        Rng r;
        rng_seed(&r, 3);
        CHECK(tg_gen(&g, &r, golden[k].length) == 0, "%s", g.err.msg);
        task_format(g.t, &g.ex, buf, sizeof buf);
        CHECK(!strcmp(buf, golden[k].text), "%s [%s] length %d:\n got: %s\nwant: %s", golden[k].task, golden[k].opts,
              golden[k].length, buf, golden[k].text);
        tg_close(&g);
    }
    /* every registered task has a golden example */
    for (int i = 0; i < task_registry_count(); i++) {
        int found = 0;
        for (size_t k = 0; k < sizeof golden / sizeof golden[0]; k++) found |= !strcmp(golden[k].task, task_registry_name(i));
        CHECK(found, "no golden string for task %s", task_registry_name(i));
    }
}

TEST(task_format_truncates_and_prints_unknown_ids) {
    Vocab v;
    vocab_init(&v);
    int toks[] = {VOCAB_SEP, 999, VOCAB_EOS, -3};
    char buf[64];
    int n = task_format_tokens(&v, toks, 4, buf, sizeof buf);
    CHECK(!strcmp(buf, "<sep> <?> <eos> <?>") && n == (int)strlen(buf), "%s", buf);
    char small[10];
    task_format_tokens(&v, toks, 4, small, sizeof small);
    CHECK(strlen(small) < sizeof small && strstr(small, "..."), "truncated: %s", small);
    vocab_free(&v);
}
