// A real SMTP server for the API tests (tests/api/support.rs starts it): `node smtp-sink.js FILE
// [DELAY_MS]` listens on a free port of 127.0.0.1, prints `listening PORT`, and appends each mail
// it accepts to FILE as one JSON line: the envelope, the raw message, and what mailparser reads in
// it (the subject, Message-ID, text and HTML parts, and the raw header lines). A mail is written
// before the server answers 250, so a sender that got its answer finds it in FILE; with DELAY_MS
// the answer comes that much later (a test kills the sender in between).
'use strict';

const fs = require('fs');
const { SMTPServer } = require('smtp-server');
const { simpleParser } = require('mailparser');

const out = process.argv[2];
const delay = Number(process.argv[3] || 0);
if (!out) {
  console.error('usage: node smtp-sink.js FILE');
  process.exit(2);
}

const server = new SMTPServer({
  // No TLS and no login: the hub is configured with `--smtp-security none` against it.
  disabledCommands: ['STARTTLS', 'AUTH'],
  authOptional: true,
  logger: false,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', async () => {
      try {
        const raw = Buffer.concat(chunks);
        const parsed = await simpleParser(raw);
        const headers = {};
        for (const { key, line } of parsed.headerLines) {
          // Unfolded, without the name: what the header says.
          headers[key] = line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
        }
        const mail = {
          envelope: {
            from: session.envelope.mailFrom && session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
          },
          raw: raw.toString('utf8'),
          messageId: parsed.messageId,
          subject: parsed.subject,
          text: parsed.text,
          html: parsed.html,
          headers,
        };
        fs.appendFileSync(out, JSON.stringify(mail) + '\n');
        setTimeout(() => callback(), delay);
      } catch (err) {
        callback(err);
      }
    });
  },
});

server.on('error', (err) => console.error('smtp-sink:', err.message));
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.server.address().port}`);
});
