/* cli: the commands of the `lengen` binary. Each takes argc/argv starting at the command name
 * and returns the process exit status: 0 success, 1 failure while running, 2 bad usage
 * (unknown option, bad value), with a message on stderr naming the argument. */
#ifndef LENGEN_CLI_H
#define LENGEN_CLI_H

int cmd_config(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_rasp(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_train(int argc, char **argv);

#endif
