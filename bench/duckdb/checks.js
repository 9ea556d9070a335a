// DuckDB side by side with `rapport check` (bench/e2e.py --duckdb): reads a gen_crm.py JSONL
// export into tables and runs six catalog checks as SQL, as close to the rules in rulesets/ as SQL
// says them (the packs' default parameters, `now` = --as-of at 00:00 UTC).
//
//   node bench/duckdb/checks.js MODULES_DIR DATA_DIR AS_OF
//
// MODULES_DIR is where `npm install @duckdb/node-api` put node_modules. Prints one JSON object:
// {"version", "load_seconds", "query_seconds", "counts": {rule id: subjects with a finding}}.

'use strict';

const path = require('path');

const [modules, data, asOf] = process.argv.slice(2);
if (!modules || !data || !/^\d{4}-\d{2}-\d{2}$/.test(asOf || '')) {
  console.error('usage: node checks.js MODULES_DIR DATA_DIR AS_OF (YYYY-MM-DD)');
  process.exit(2);
}
const { DuckDBInstance } = require(path.join(modules, 'node_modules', '@duckdb', 'node-api'));

// The tables the six checks read, with the columns they use and their types (the canonical
// model, /work/shared/crm-model.md), so that nothing depends on type detection.
const TABLES = {
  users: { id: 'VARCHAR', role: 'VARCHAR', active: 'BOOLEAN' },
  accounts: { id: 'VARCHAR', owner_id: 'VARCHAR', tier: 'VARCHAR', region: 'VARCHAR', criticality: 'VARCHAR',
              annual_revenue: 'DOUBLE' },
  activities: { account_id: 'VARCHAR', owner_id: 'VARCHAR', topics: 'VARCHAR[]', started_at: 'TIMESTAMP' },
  contacts: { account_id: 'VARCHAR', role: 'VARCHAR', last_contacted_at: 'TIMESTAMP' },
  contracts: { id: 'VARCHAR', sla_response_hours: 'DOUBLE', start_date: 'DATE', end_date: 'DATE' },
  cases: { contract_id: 'VARCHAR', opened_at: 'TIMESTAMP', first_response_at: 'TIMESTAMP' },
  opportunities: { account_id: 'VARCHAR', stage: 'VARCHAR', service_tier: 'VARCHAR' },
};

const NOW = `TIMESTAMP '${asOf} 00:00:00'`;
const TODAY = `DATE '${asOf}'`;

// One query per rule; each returns the number of subjects with a finding.
const CHECKS = {
  // portfolio.rules: active account managers owning more than 150 accounts.
  dunbar_portfolio_limit: `
    SELECT count(*) FROM users u
    JOIN (SELECT owner_id, count(*) AS n FROM accounts WHERE owner_id IS NOT NULL GROUP BY owner_id) p ON p.owner_id = u.id
    WHERE u.role = 'account_manager' AND u.active AND p.n > 150`,
  // service_gaps.rules: one activity of the last 365 days with price and service-level topics.
  discount_and_sla_same_activity: `
    SELECT count(*) FROM activities
    WHERE started_at >= ${NOW} - INTERVAL 365 DAY
      AND list_has_any(topics, ['discount', 'pricing']) AND list_has_any(topics, ['sla'])`,
  // portfolio.rules: long-tail accounts (revenue percentile <= 80 %) without contact from their
  // owner in 90 days (only contact that has happened counts).
  neglected_long_tail: `
    WITH ranked AS (
      SELECT id, cume_dist() OVER (ORDER BY annual_revenue) AS share FROM accounts WHERE annual_revenue IS NOT NULL),
    touch AS (
      SELECT a.id, max(t.started_at) AS last FROM accounts a
      JOIN activities t ON t.account_id = a.id AND t.owner_id = a.owner_id AND t.started_at <= ${NOW}
      GROUP BY a.id)
    SELECT count(*) FROM accounts a
    JOIN users u ON u.id = a.owner_id
    JOIN ranked r ON r.id = a.id
    LEFT JOIN touch t ON t.id = a.id
    WHERE r.share <= 0.8 AND (t.last IS NULL OR ${NOW} - t.last > INTERVAL 90 DAY)`,
  // service_gaps.rules: running contracts whose cases of the last 90 days (10 or more) missed the
  // first-response time more than 10 % of the time.
  delivery_gap_sla_breaches: `
    WITH recent AS (
      SELECT c.contract_id, count(*) AS n,
             count(*) FILTER (WHERE (c.first_response_at IS NOT NULL
                                     AND epoch(c.first_response_at) - epoch(c.opened_at) > k.sla_response_hours * 3600)
                                 OR (c.first_response_at IS NULL
                                     AND epoch(${NOW}) - epoch(c.opened_at) > k.sla_response_hours * 3600)) AS breached
      FROM cases c JOIN contracts k ON k.id = c.contract_id
      WHERE c.opened_at >= ${NOW} - INTERVAL 90 DAY AND c.opened_at <= ${NOW}
      GROUP BY c.contract_id)
    SELECT count(*) FROM contracts k JOIN recent r ON r.contract_id = k.id
    WHERE k.end_date >= ${TODAY} AND k.sla_response_hours IS NOT NULL AND k.start_date <= ${TODAY}
      AND r.n >= 10 AND r.breached / r.n > 0.10`,
  // relationships.rules: key and strategic accounts with a buying-center role nobody was
  // contacted in for 180 days.
  buying_center_coverage: `
    WITH reached AS (
      SELECT account_id, count(DISTINCT role) AS roles FROM contacts
      WHERE role IN ('executive', 'decision_maker', 'purchasing', 'technical', 'end_user')
        AND last_contacted_at >= ${NOW} - INTERVAL 180 DAY AND last_contacted_at <= ${NOW}
      GROUP BY account_id)
    SELECT count(*) FROM accounts a LEFT JOIN reached r ON r.account_id = a.id
    WHERE a.tier IN ('strategic', 'key') AND coalesce(r.roles, 0) < 5`,
  // service_gaps.rules: offers whose service tier is below what the account's criticality needs.
  definition_gap: `
    SELECT count(*) FROM opportunities o LEFT JOIN accounts a ON a.id = o.account_id
    WHERE o.stage IN ('proposal', 'negotiation', 'closed_won')
      AND list_position(['basic', 'standard', 'premium', 'enterprise'], o.service_tier)
        < list_position(['basic', 'standard', 'premium', 'enterprise'],
                        CASE a.criticality WHEN 'medium' THEN 'standard' WHEN 'high' THEN 'premium'
                                           WHEN 'mission_critical' THEN 'enterprise' ELSE 'basic' END)`,
};

function quote(text) {
  return `'${text.replace(/'/g, "''")}'`;
}

async function main() {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  const version = (await connection.runAndReadAll('SELECT version()')).getRows()[0][0];

  let started = process.hrtime.bigint();
  for (const [table, columns] of Object.entries(TABLES)) {
    const file = path.join(data, `${table}.jsonl`);
    const types = Object.entries(columns).map(([name, type]) => `${quote(name)}: ${quote(type)}`).join(', ');
    await connection.run(`CREATE TABLE ${table} AS SELECT * FROM read_json(${quote(file)}, format = 'newline_delimited', ` +
                         `columns = {${types}})`);
  }
  const loadSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  started = process.hrtime.bigint();
  const counts = {};
  for (const [rule, sql] of Object.entries(CHECKS)) {
    counts[rule] = Number((await connection.runAndReadAll(sql)).getRows()[0][0]);
  }
  const querySeconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ version, load_seconds: loadSeconds, query_seconds: querySeconds, counts }) + '\n');
}

main().catch((error) => {
  console.error(`duckdb checks: ${error.message}`);
  process.exit(1);
});
