/*
 * Sling reference firmware for ATmega328P (Arduino Uno/Nano pinout), 16 MHz, UART0 at 115200 8N1.
 * Speaks the Sling serial line protocol (see README.md): requests "<seq> <CMD> [args]\n", replies
 * "<seq> OK [data]" / "<seq> ERR <code> <reason>", asynchronous "T ..." telemetry, "E ..." events and a
 * "HELLO ..." banner after reset. Motors stop by themselves when no command or heartbeat arrives for
 * DEADMAN_MS (the deadman).
 *
 * Pins: left motor PWM D5 (OC0B) + direction D4, right motor PWM D6 (OC0A) + direction D7,
 * gripper servo D9 (OC1A, 50 Hz), analog sensor A0 (reported as a0, millivolts), e-stop button D2 to
 * ground (internal pull-up; pressing it latches the e-stop exactly like the ESTOP command).
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FW_NAME "sling-fw"
#define FW_VERSION "1"
#define BAUD 115200UL
#define DEADMAN_MS 500
#define MAX_LINE 64
#define SERVO_MIN_US 544
#define SERVO_MAX_US 2400

enum { ERR_UNKNOWN = 1, ERR_ARGS = 2, ERR_RANGE = 3, ERR_TOO_LONG = 4, ERR_ESTOP = 5 };

static volatile uint32_t now_ms;
ISR(TIMER2_COMPA_vect) { now_ms++; }

static uint32_t millis(void) {
  uint8_t sreg = SREG;
  cli();
  uint32_t t = now_ms;
  SREG = sreg;
  return t;
}

/* Interrupt-driven UART with ring buffers; sizes are powers of two. */
#define RX_SIZE 128
#define TX_SIZE 128
static volatile uint8_t rx_buf[RX_SIZE], rx_head, rx_tail;
static volatile uint8_t tx_buf[TX_SIZE], tx_head, tx_tail;

ISR(USART_RX_vect) {
  uint8_t c = UDR0;
  uint8_t next = (rx_head + 1) & (RX_SIZE - 1);
  if (next != rx_tail) {  // full: drop the byte, the host will time out and retry
    rx_buf[rx_head] = c;
    rx_head = next;
  }
}

ISR(USART_UDRE_vect) {
  if (tx_head == tx_tail) {
    UCSR0B &= ~_BV(UDRIE0);
    return;
  }
  UDR0 = tx_buf[tx_tail];
  tx_tail = (tx_tail + 1) & (TX_SIZE - 1);
}

static void uart_init(void) {
  UCSR0A = _BV(U2X0);
  UBRR0 = (uint16_t)(F_CPU / 8 / BAUD - 1);
  UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
  UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
}

static void put_char(char c) {
  uint8_t next = (tx_head + 1) & (TX_SIZE - 1);
  while (next == tx_tail) {
  }  // wait for room: the UDRE interrupt drains it
  tx_buf[tx_head] = c;
  tx_head = next;
  UCSR0B |= _BV(UDRIE0);
}

static void put_str(const char *s) {
  while (*s) put_char(*s++);
}

static void put_int(int32_t v) {
  char tmp[12];
  ltoa(v, tmp, 10);
  put_str(tmp);
}

/* Motors and servo. */
static int16_t duty_left, duty_right, servo_deg = 90;
static uint8_t estopped, deadman_tripped;
static uint32_t last_command_ms;

static void set_motor_pwm(volatile uint8_t *ocr, uint8_t com_bit, uint8_t pin, int16_t duty) {
  uint8_t magnitude = (uint8_t)(duty < 0 ? -duty : duty);
  *ocr = magnitude;
  if (magnitude == 0) {
    // Disconnect the compare output so the pin is a solid low (fast PWM at OCR=0 still glitches).
    TCCR0A &= ~_BV(com_bit);
    PORTD &= ~_BV(pin);
  } else {
    TCCR0A |= _BV(com_bit);
  }
}

static void set_motors(int16_t left, int16_t right) {
  duty_left = left;
  duty_right = right;
  if (left < 0) PORTD |= _BV(PD4); else PORTD &= ~_BV(PD4);
  if (right < 0) PORTD |= _BV(PD7); else PORTD &= ~_BV(PD7);
  set_motor_pwm(&OCR0B, COM0B1, PD5, left);
  set_motor_pwm(&OCR0A, COM0A1, PD6, right);
}

static void set_servo(int16_t deg) {
  servo_deg = deg;
  uint16_t us = SERVO_MIN_US + (uint32_t)(SERVO_MAX_US - SERVO_MIN_US) * (uint16_t)deg / 180;
  OCR1A = us * 2;  // timer1 ticks at 0.5 us
}

static void io_init(void) {
  DDRD |= _BV(PD4) | _BV(PD5) | _BV(PD6) | _BV(PD7);
  PORTD |= _BV(PD2);  // pull-up for the e-stop button
  DDRB |= _BV(PB1);
  // Timer0: fast PWM, clk/64 (976 Hz) for the motors.
  TCCR0A = _BV(WGM01) | _BV(WGM00);
  TCCR0B = _BV(CS01) | _BV(CS00);
  // Timer1: fast PWM with ICR1 as top, clk/8, 20 ms period for the servo.
  ICR1 = 39999;
  TCCR1A = _BV(COM1A1) | _BV(WGM11);
  TCCR1B = _BV(WGM13) | _BV(WGM12) | _BV(CS11);
  // Timer2: CTC at 1 kHz for millis().
  TCCR2A = _BV(WGM21);
  OCR2A = 249;
  TCCR2B = _BV(CS22);
  TIMSK2 = _BV(OCIE2A);
  // ADC: AVcc reference, clk/128.
  ADMUX = _BV(REFS0);
  ADCSRA = _BV(ADEN) | _BV(ADPS2) | _BV(ADPS1) | _BV(ADPS0);
  set_motors(0, 0);
  set_servo(90);
}

static uint16_t read_a0_mv(void) {
  ADCSRA |= _BV(ADSC);
  while (ADCSRA & _BV(ADSC)) {
  }
  return (uint32_t)ADC * 5000 / 1023;
}

/* Replies. The last one is kept so a retried request (same sequence number) gets the same answer
 * without being executed twice. */
static uint16_t last_seq;
static char last_reply[24];

static void reply(uint16_t seq, const char *body) {
  last_seq = seq;
  strncpy(last_reply, body, sizeof last_reply - 1);
  put_int(seq);
  put_char(' ');
  put_str(body);
  put_char('\n');
}

static uint16_t telemetry_ms = 100;
static uint32_t last_telemetry_ms;

static void send_telemetry(void) {
  put_str("T ms=");
  put_int((int32_t)millis());
  put_str(" l=");
  put_int(duty_left);
  put_str(" r=");
  put_int(duty_right);
  put_str(" g=");
  put_int(servo_deg);
  put_str(" a0=");
  put_int(read_a0_mv());
  put_str(" es=");
  put_int(estopped);
  put_str(" dm=");
  put_int(deadman_tripped);
  put_char('\n');
}

/* Parses a signed decimal; returns 0 when the token is not a whole number. */
static uint8_t parse_int(const char *s, int32_t *out) {
  if (!s || !*s) return 0;
  char *end;
  long v = strtol(s, &end, 10);
  if (*end != '\0') return 0;
  *out = v;
  return 1;
}

static void handle_line(char *line) {
  char *tokens[5];
  uint8_t count = 0;
  for (char *tok = strtok(line, " "); tok && count < 5; tok = strtok(NULL, " ")) tokens[count++] = tok;
  if (count == 0) return;
  int32_t seq_value;
  if (!parse_int(tokens[0], &seq_value) || seq_value < 1 || seq_value > 65535 || count < 2) {
    put_str("E bad-request\n");
    return;
  }
  uint16_t seq = (uint16_t)seq_value;
  if (seq == last_seq) {  // a retry: answer again, do not act twice
    put_int(seq);
    put_char(' ');
    put_str(last_reply);
    put_char('\n');
    last_command_ms = millis();
    return;
  }
  const char *cmd = tokens[1];
  int32_t a = 0, b = 0;
  last_command_ms = millis();
  if (strcmp(cmd, "PING") == 0) {
    reply(seq, "OK " FW_NAME " " FW_VERSION);
  } else if (strcmp(cmd, "HB") == 0) {
    reply(seq, "OK");
  } else if (strcmp(cmd, "M") == 0) {
    if (count != 4 || !parse_int(tokens[2], &a) || !parse_int(tokens[3], &b)) {
      reply(seq, "ERR 2 bad-args");
    } else if (a < -255 || a > 255 || b < -255 || b > 255) {
      reply(seq, "ERR 3 out-of-range");
    } else if (estopped && (a || b)) {
      reply(seq, "ERR 5 estopped");
    } else {
      deadman_tripped = 0;
      set_motors((int16_t)a, (int16_t)b);
      reply(seq, "OK");
    }
  } else if (strcmp(cmd, "STOP") == 0) {
    set_motors(0, 0);
    reply(seq, "OK");
  } else if (strcmp(cmd, "SERVO") == 0) {
    if (count != 3 || !parse_int(tokens[2], &a)) reply(seq, "ERR 2 bad-args");
    else if (a < 0 || a > 180) reply(seq, "ERR 3 out-of-range");
    else {
      set_servo((int16_t)a);
      reply(seq, "OK");
    }
  } else if (strcmp(cmd, "TELEM") == 0) {
    if (count != 3 || !parse_int(tokens[2], &a)) reply(seq, "ERR 2 bad-args");
    else if (a != 0 && (a < 20 || a > 10000)) reply(seq, "ERR 3 out-of-range");
    else {
      telemetry_ms = (uint16_t)a;
      reply(seq, "OK");
    }
  } else if (strcmp(cmd, "ESTOP") == 0) {
    set_motors(0, 0);
    estopped = 1;
    reply(seq, "OK");
    put_str("E estop source=0\n");
  } else if (strcmp(cmd, "CLEAR") == 0) {
    if (!(PIND & _BV(PD2))) {
      reply(seq, "ERR 5 estop-button-pressed");
    } else {
      estopped = 0;  // never restarts motion by itself: the motors are already off
      reply(seq, "OK");
    }
  } else {
    reply(seq, "ERR 1 unknown-command");
  }
}

int main(void) {
  static char line[MAX_LINE + 1];
  uint8_t len = 0, overflowed = 0;
  uint32_t button_since = 0;
  io_init();
  uart_init();
  set_sleep_mode(SLEEP_MODE_IDLE);
  sei();
  // The leading newline ends whatever half line the host got before the reset.
  put_str("\nHELLO " FW_NAME " " FW_VERSION "\n");
  for (;;) {
    while (rx_tail != rx_head) {
      char c = (char)rx_buf[rx_tail];
      rx_tail = (rx_tail + 1) & (RX_SIZE - 1);
      if (c == '\r') continue;
      if (c == '\n') {
        if (overflowed) put_str("E line-too-long\n");
        else {
          line[len] = '\0';
          handle_line(line);
        }
        len = 0;
        overflowed = 0;
      } else if (len < MAX_LINE) {
        line[len++] = c;
      } else {
        overflowed = 1;
      }
    }
    uint32_t now = millis();
    // E-stop button: pressed (low) for 10 ms in a row latches, like ESTOP; release does not clear it.
    if (!(PIND & _BV(PD2))) {
      if (!button_since) button_since = now ? now : 1;
      else if (!estopped && now - button_since >= 10) {
        set_motors(0, 0);
        estopped = 1;
        put_str("E estop source=1\n");
      }
    } else {
      button_since = 0;
    }
    if ((duty_left || duty_right) && now - last_command_ms > DEADMAN_MS) {
      set_motors(0, 0);
      deadman_tripped = 1;
      put_str("E deadman\n");
    }
    if (telemetry_ms && now - last_telemetry_ms >= telemetry_ms) {
      last_telemetry_ms = now;
      send_telemetry();
    }
    // Sleep until the next interrupt (1 ms tick or a received byte).
    cli();
    if (rx_tail == rx_head) {
      sleep_enable();
      sei();
      sleep_cpu();
      sleep_disable();
    }
    sei();
  }
}
