/*
 * sling-sim: runs AVR firmware in libsimavr at real time and bridges UART0 to a pseudo-terminal, so a
 * host program talks to it through a real serial port (the packaged simavr binary cannot expose the UART).
 *
 *   sling-sim [-m atmega328p] [-f 16000000] [-l /path/to/symlink] [-n] [-p D4,D7] [-u D2] firmware.{elf,hex}
 *
 * stdout (line by line): "pty <path>" once ready, then "<sim_us> <event>" for everything a test may
 * want to observe: "reset", "host-open", "host-close", "pin D4 1" (digital output changes on ports B, C,
 * D), "pwm 0A 128" (timer PWM compare values). stdin: "adc <channel> <millivolts>", "in D2 1" (drive an input pin), "state D", "reset", "pause",
 * "resume". The harness exits when stdin closes, so it never outlives the process that started it.
 *
 * Like an Uno's DTR line, opening the pty resets the MCU (-n disables that). Output the MCU sends while
 * no one has the port open is dropped, as a USB-serial bridge does.
 */
#define _GNU_SOURCE
#include <avr_adc.h>
#include <avr_ioport.h>
#include <avr_timer.h>
#include <avr_uart.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <sim_avr.h>
#include <sim_elf.h>
#include <sim_hex.h>
#include <sim_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define SERVICE_CYCLES 4000          /* service the pty every 250 us of simulated time at 16 MHz */
#define MAX_LAG_NS 50000000ULL       /* when the host falls this far behind, drop the debt, never burst */

static avr_t *avr;
static int master_fd = -1;
static int host_connected;
static int reset_on_open = 1;
static const char *link_path;
static const char *pin_filter;
static const char *pullups;           /* "D2": input pins that idle high (pull-up, button not pressed) */
static void set_external_input(char port, unsigned pin, unsigned level);        /* "D4,D7": report only these pins (PWM pins chatter) */
static char slave_path[128];

static uint8_t in_buf[4096];          /* host → MCU bytes waiting for room in the UART's FIFO */
static size_t in_len, in_pos;
static int uart_xon = 1;
static uint8_t out_buf[4096];         /* MCU → host bytes not yet written to the pty */
static size_t out_len;

static uint64_t wall_origin_ns;       /* wall-clock time that corresponds to cycle 0 */
static avr_cycle_count_t last_service_cycle;
static volatile sig_atomic_t stop_requested;
static int reset_pending;
static int paused;              /* "pause" on stdin freezes the MCU (a hung firmware) until "resume" */       /* resets happen between avr_run() calls, never inside one */

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t cycles_to_ns(avr_cycle_count_t cycles) {
  return (uint64_t)((unsigned __int128)cycles * 1000000000ULL / avr->frequency);
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%llu ", (unsigned long long)(cycles_to_ns(avr->cycle) / 1000));
  vprintf(fmt, ap);
  putchar('\n');
  va_end(ap);
}

static void pump_input(void) {
  while (uart_xon && in_pos < in_len) avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT), in_buf[in_pos++]);
  if (in_pos == in_len) in_pos = in_len = 0;
}

static void on_uart_xon(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq, (void)value, (void)param;
  uart_xon = 1;
  pump_input();
}

static void on_uart_xoff(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq, (void)value, (void)param;
  uart_xon = 0;
}

static void flush_output(void) {
  if (!host_connected) {
    out_len = 0;
    return;
  }
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(master_fd, out_buf + done, out_len - done);
    if (n <= 0) break; /* EAGAIN: the host is not reading; drop like a real bridge */
    done += (size_t)n;
  }
  out_len = 0;
}

static void on_uart_output(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq, (void)param;
  if (!host_connected) return;
  if (out_len < sizeof out_buf) out_buf[out_len++] = (uint8_t)value;
  if (value == '\n' || out_len == sizeof out_buf) flush_output();
}

static void on_pin(struct avr_irq_t *irq, uint32_t value, void *param) {
  char name[3] = {(char)(intptr_t)param, (char)('0' + irq->irq), '\0'};
  if (pin_filter && !strstr(pin_filter, name)) return;
  report("pin %c%u %u", (char)(intptr_t)param, irq->irq, value & 1);
}

static void on_pwm(struct avr_irq_t *irq, uint32_t value, void *param) {
  report("pwm %c%c %u", (char)(intptr_t)param, irq->irq == TIMER_IRQ_OUT_PWM0 ? 'A' : 'B', value);
}

/* Levels applied to input pins from outside (a pulled-up button, a sensor output), per port B, C, D.
 * simavr 1.6 reads an input pin with the internal pull-up on as 0, and avr_reset() forgets these,
 * so they are kept here and applied again after every reset and direction change. */
static uint8_t external_mask[3], external_value[3];

/* Makes the PIN register show the external level of every input pin that has one. Pin IRQs drop
 * repeated values, so when the register disagrees (after a reset, or a pin that was an output) the
 * IRQ's remembered value is flipped first; the MCU runs no instruction in between. */
static void apply_external_inputs(void) {
  for (int i = 0; i < 3; i++) {
    if (!external_mask[i]) continue;
    char port = "BCD"[i];
    avr_ioport_external_t external = {.name = (unsigned)port, .mask = external_mask[i], .value = external_value[i]};
    avr_ioctl(avr, AVR_IOCTL_IOPORT_SET_EXTERNAL(port), &external);
    avr_ioport_state_t state = {.name = (unsigned)port};
    if (avr_ioctl(avr, AVR_IOCTL_IOPORT_GETSTATE(port), &state) != 0) continue;
    for (int pin = 0; pin < 8; pin++) {
      uint8_t bit = (uint8_t)(1u << pin);
      if (!(external_mask[i] & bit) || (state.ddr & bit)) continue; /* outputs drive themselves */
      uint32_t level = (external_value[i] & bit) ? 1 : 0;
      avr_irq_t *irq = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), pin);
      if (((state.pin & bit) ? 1u : 0u) != level || irq->value != level) {
        irq->value = !level;
        avr_raise_irq(irq, level);
      }
    }
  }
}

/* A port's direction changed: a pin that just became an input must show its external level. */
static void on_direction(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq, (void)value, (void)param;
  apply_external_inputs();
}

static void set_external_input(char port, unsigned pin, unsigned level) {
  int i = port == 'B' ? 0 : port == 'C' ? 1 : 2;
  external_mask[i] |= (uint8_t)(1u << pin);
  if (level) external_value[i] |= (uint8_t)(1u << pin);
  else external_value[i] &= (uint8_t)~(1u << pin);
  apply_external_inputs();
}

static void reset_mcu(void) {
  in_len = in_pos = 0;
  out_len = 0;
  uart_xon = 1;
  avr_reset(avr);
  apply_external_inputs();
  wall_origin_ns = mono_ns() - cycles_to_ns(avr->cycle);
  last_service_cycle = avr->cycle;
  report("reset");
}

static void handle_command(char *line) {
  unsigned channel, millivolts, bit, level;
  char port;
  if (sscanf(line, "in %c%u %u", &port, &bit, &level) == 3 && strchr("BCD", port) && bit < 8) {
    /* drive an input pin from outside (a button, a bump switch, a hardware e-stop) */
    set_external_input(port, bit, level);
  } else if (sscanf(line, "adc %u %u", &channel, &millivolts) == 2 && channel < 8) {
    avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + channel), millivolts);
  } else if (sscanf(line, "state %c", &port) == 1 && strchr("BCD", port)) {
    avr_ioport_state_t state = {.name = (unsigned)port};
    avr_ioctl(avr, AVR_IOCTL_IOPORT_GETSTATE(port), &state);
    report("state %c port=%02x ddr=%02x pin=%02x", port, state.port, state.ddr, state.pin);
  } else if (strcmp(line, "pause") == 0) {
    paused = 1;
  } else if (strcmp(line, "resume") == 0) {
    paused = 0;
    wall_origin_ns = mono_ns() - cycles_to_ns(avr->cycle);
  } else if (strncmp(line, "reset", 5) == 0) {
    reset_pending = 1;
  } else {
    fprintf(stderr, "sling-sim: unknown command: %s\n", line);
  }
}

static void read_stdin(void) {
  static char line[256];
  static size_t len;
  char chunk[256];
  ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
  if (n == 0) stop_requested = 1;
  for (ssize_t i = 0; i < n; i++) {
    if (chunk[i] == '\n') {
      line[len] = '\0';
      handle_command(line);
      len = 0;
    } else if (len < sizeof line - 1) {
      line[len++] = chunk[i];
    }
  }
}

/* Called every SERVICE_CYCLES and whenever the MCU sleeps: waits until wall time catches up with
 * simulated time (plus ahead_cycles), meanwhile moving bytes between the pty and the UART. */
static void service(avr_cycle_count_t ahead_cycles) {
  flush_output();
  /* A pty master reports POLLHUP while no one holds the slave open: that is our DTR line. */
  struct pollfd hup = {.fd = master_fd, .events = POLLIN};
  poll(&hup, 1, 0);
  int connected = !(hup.revents & POLLHUP);
  if (connected != host_connected) {
    host_connected = connected;
    report(connected ? "host-open" : "host-close");
    if (connected && reset_on_open) reset_pending = 1;
    if (!connected) in_len = in_pos = 0;
  }
  for (;;) {
    uint64_t target = wall_origin_ns + cycles_to_ns(avr->cycle + ahead_cycles);
    uint64_t now = mono_ns();
    if (now > target + MAX_LAG_NS) wall_origin_ns += now - target - MAX_LAG_NS;
    uint64_t wait = target > now ? target - now : 0;
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = master_fd, .events = POLLIN}};
    struct timespec timeout = {.tv_sec = (time_t)(wait / 1000000000ULL), .tv_nsec = (long)(wait % 1000000000ULL)};
    int ready = ppoll(fds, host_connected && in_len < sizeof in_buf ? 2 : 1, &timeout, NULL);
    if (ready <= 0) break;
    if (fds[0].revents & (POLLIN | POLLHUP)) read_stdin();
    if (host_connected && (fds[1].revents & POLLIN) && in_len < sizeof in_buf) {
      ssize_t n = read(master_fd, in_buf + in_len, sizeof in_buf - in_len);
      if (n > 0) in_len += (size_t)n;
      pump_input();
    }
    if (stop_requested || reset_pending || wait == 0) break;
  }
}

/* While paused the MCU does not run: only stdin and the host's open/close are watched, and bytes the
 * host sends are lost, as they would be on a hung board. */
static void service_paused(void) {
  struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = master_fd, .events = POLLIN}};
  poll(fds, 2, 10);
  int connected = !(fds[1].revents & POLLHUP);
  if (connected != host_connected) {
    host_connected = connected;
    report(connected ? "host-open" : "host-close");
    if (connected && reset_on_open) reset_pending = 1;
  }
  if (connected && (fds[1].revents & POLLIN)) {
    uint8_t discard[256];
    while (read(master_fd, discard, sizeof discard) > 0) {
    }
  }
  if (fds[0].revents & (POLLIN | POLLHUP)) read_stdin();
  if (!host_connected) usleep(10000); /* POLLHUP makes poll return at once */
}

static void on_sleep(avr_t *a, avr_cycle_count_t how_long) {
  (void)a;
  service(how_long);
  last_service_cycle = avr->cycle + how_long;
}

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int load_firmware(const char *path, const char *mcu, uint32_t frequency, elf_firmware_t *fw) {
  memset(fw, 0, sizeof *fw);
  const char *ext = strrchr(path, '.');
  if (ext && strcmp(ext, ".hex") == 0) {
    ihex_chunk_p chunks = NULL;
    int count = read_ihex_chunks(path, &chunks);
    if (count < 1) return -1;
    /* Application code lives in the first chunk (flash at 0); an EEPROM chunk may follow. */
    fw->flash = chunks[0].data;
    fw->flashsize = chunks[0].size;
    fw->flashbase = chunks[0].baseaddr;
  } else if (elf_read_firmware(path, fw) != 0) {
    return -1;
  }
  if (!fw->mmcu[0]) snprintf(fw->mmcu, sizeof fw->mmcu, "%s", mcu);
  if (!fw->frequency) fw->frequency = frequency;
  return 0;
}

int main(int argc, char **argv) {
  const char *mcu = "atmega328p";
  uint32_t frequency = 16000000;
  int opt;
  while ((opt = getopt(argc, argv, "m:f:l:np:u:")) != -1) {
    switch (opt) {
      case 'm': mcu = optarg; break;
      case 'f': frequency = (uint32_t)strtoul(optarg, NULL, 10); break;
      case 'l': link_path = optarg; break;
      case 'n': reset_on_open = 0; break;
      case 'p': pin_filter = optarg; break;
      case 'u': pullups = optarg; break;
      default:
        fprintf(stderr, "usage: %s [-m mcu] [-f hz] [-l symlink] [-n] [-p D4,D7] [-u D2] firmware.{elf,hex}\n", argv[0]);
        return 2;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "sling-sim: no firmware given\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  elf_firmware_t fw;
  if (load_firmware(argv[optind], mcu, frequency, &fw) != 0) {
    fprintf(stderr, "sling-sim: cannot read firmware %s\n", argv[optind]);
    return 1;
  }
  avr = avr_make_mcu_by_name(fw.mmcu);
  if (!avr) {
    fprintf(stderr, "sling-sim: unknown MCU %s\n", fw.mmcu);
    return 1;
  }
  avr_init(avr);
  avr->log = LOG_ERROR;
  avr->vcc = avr->avcc = avr->aref = 5000; /* millivolts, as on a 5 V Uno */
  avr_load_firmware(avr, &fw);
  if (fw.flashbase) avr->pc = fw.flashbase;
  avr->sleep = on_sleep;

  uint32_t flags = 0;
  avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
  flags &= ~(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
  avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), on_uart_output, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), on_uart_xon, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), on_uart_xoff, NULL);
  for (const char *port = "BCD"; *port; port++)
    for (int pin = 0; pin < 8; pin++)
      avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(*port), pin), on_pin, (void *)(intptr_t)*port);
  for (const char *port = "BCD"; *port; port++)
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(*port), IOPORT_IRQ_DIRECTION_ALL), on_direction, NULL);
  for (const char *timer = "012"; *timer; timer++) {
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_TIMER_GETIRQ(*timer), TIMER_IRQ_OUT_PWM0), on_pwm, (void *)(intptr_t)*timer);
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_TIMER_GETIRQ(*timer), TIMER_IRQ_OUT_PWM1), on_pwm, (void *)(intptr_t)*timer);
  }

  for (const char *port = "BCD"; pullups && *port; port++)
    for (int pin = 0; pin < 8; pin++) {
      char name[3] = {*port, (char)('0' + pin), '\0'};
      if (strstr(pullups, name)) set_external_input(*port, pin, 1);
    }

  /* Raw mode from the start, so nothing is echoed or translated before the host configures the port. */
  struct termios raw;
  cfmakeraw(&raw);
  cfsetspeed(&raw, B115200);
  int slave_fd;
  if (openpty(&master_fd, &slave_fd, slave_path, &raw, NULL) != 0) {
    perror("sling-sim: openpty");
    return 1;
  }
  close(slave_fd); /* we only watch the master; POLLHUP tells whether a host holds the slave open */
  fcntl(master_fd, F_SETFL, fcntl(master_fd, F_GETFL) | O_NONBLOCK);
  fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
  if (link_path) {
    unlink(link_path);
    if (symlink(slave_path, link_path) != 0) {
      perror("sling-sim: symlink");
      return 1;
    }
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  printf("pty %s\n", slave_path);

  wall_origin_ns = mono_ns();
  while (!stop_requested) {
    if (paused) {
      service_paused();
      continue;
    }
    int state = avr_run(avr);
    if (state == cpu_Done || state == cpu_Crashed) {
      fprintf(stderr, "sling-sim: MCU stopped (state %d)\n", state);
      break;
    }
    if (reset_pending) {
      reset_pending = 0;
      reset_mcu();
    }
    if (avr->cycle - last_service_cycle >= SERVICE_CYCLES) {
      last_service_cycle = avr->cycle;
      service(0);
    }
  }
  if (link_path) {
    char target[sizeof slave_path];
    ssize_t n = readlink(link_path, target, sizeof target - 1);
    if (n > 0 && (size_t)n == strlen(slave_path) && strncmp(target, slave_path, (size_t)n) == 0) unlink(link_path);
  }
  return 0;
}
