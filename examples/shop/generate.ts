// Generates the shop example's input files deterministically (a seeded PRNG), so the example and its tests see the
// same data on every machine. Run: node --import tsx examples/shop/generate.ts
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let seed = 20240501;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

const COUNTRIES = ['PT', 'ES', 'FR', 'DE', 'GB', 'US', 'BR'];
const CURRENCY: Record<string, string> = {
  PT: 'EUR',
  ES: 'EUR',
  FR: 'EUR',
  DE: 'EUR',
  GB: 'GBP',
  US: 'USD',
  BR: 'USD',
};
const FIRST = [
  'Ana',
  'João',
  'Marta',
  'Luis',
  'Sofia',
  'Pierre',
  'Hannah',
  'Oliver',
  'Emma',
  'Lucas',
  'Chloé',
  'Mateo',
];
const LAST = ['Silva', 'García', 'Martin', 'Müller', 'Smith', 'Johnson', 'Costa', 'Dubois', 'Schmidt', 'Brown'];

const customers: string[] = ['customer_id,name,email,country,segment,signup_date'];
const N_CUSTOMERS = 400;
for (let i = 1; i <= N_CUSTOMERS; i++) {
  const first = pick(FIRST);
  const last = pick(LAST);
  const country = pick(COUNTRIES);
  const day = 1 + Math.floor(rand() * 28);
  const month = 1 + Math.floor(rand() * 12);
  const name = rand() < 0.05 ? `"${last}, ${first}"` : `${first} ${last}`;
  customers.push(
    `C${String(i).padStart(4, '0')},${name},${first.toLowerCase()}.${last.toLowerCase()}${i}@example.com,${country},${rand() < 0.2 ? 'business' : 'consumer'},2023-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
  );
}

const orders: string[] = ['order_id,customer_id,status,amount,currency,placed_at,coupon'];
const payments: string[] = [];
const start = Date.UTC(2024, 3, 1); // 2024-04-01
const N_ORDERS = 3000;
for (let i = 1; i <= N_ORDERS; i++) {
  const cust = 1 + Math.floor(rand() * N_CUSTOMERS);
  const country = customers[cust].split(',').at(-3) as string;
  const placed = start + Math.floor(rand() * 30 * 86_400_000);
  const r = rand();
  const status = r < 0.08 ? 'cancelled' : r < 0.12 ? 'refunded' : r < 0.55 ? 'paid' : r < 0.9 ? 'shipped' : 'placed';
  const amount = (5 + rand() * 295).toFixed(2);
  const coupon = rand() < 0.15 ? pick(['SPRING10', 'WELCOME5', 'VIP20']) : '';
  const id = `O${String(i).padStart(6, '0')}`;
  orders.push(
    `${id},C${String(cust).padStart(4, '0')},${status},${amount},${CURRENCY[country] ?? 'EUR'},${new Date(placed).toISOString()},${coupon}`,
  );
  if (status !== 'placed' && status !== 'cancelled') {
    const paidAt = new Date(placed + Math.floor(rand() * 3_600_000)).toISOString();
    const failedFirst = rand() < 0.1;
    if (failedFirst) {
      payments.push(
        JSON.stringify({
          payment_id: `P${i}a`,
          order_id: id,
          method: pick(['card', 'paypal', 'bank_transfer']),
          amount: Number(amount),
          status: 'failed',
          paid_at: paidAt,
        }),
      );
    }
    payments.push(
      JSON.stringify({
        payment_id: `P${i}`,
        order_id: id,
        method: pick(['card', 'paypal', 'bank_transfer']),
        amount: Number(amount),
        status: 'captured',
        paid_at: paidAt,
      }),
    );
  }
}
// The deliberately malformed row: an amount that is not a number. It must end in the quarantine, not in revenue.
orders.splice(1234, 0, 'O900001,C0042,paid,twelve euros,EUR,2024-04-12T10:00:00Z,');

writeFileSync(join(here, 'data/customers.csv'), `${customers.join('\n')}\n`);
writeFileSync(join(here, 'data/orders.csv'), `${orders.join('\n')}\n`);
writeFileSync(join(here, 'data/payments.jsonl'), `${payments.join('\n')}\n`);
writeFileSync(join(here, 'data/fx_rates.csv'), 'currency,rate_to_eur\nEUR,1.0\nGBP,1.17\nUSD,0.92\n');
