// describeScenarioFormat(): the markdown reference of the scenario format, rendered from the field
// table the validator runs (format.ts), so the documentation cannot drift from what is accepted.

import { Field, ListType, ObjectType, OneOfType, SelectType, Type, Fields } from './fields';
import { SCENARIO } from './format';

type AnyObject = ObjectType<Fields>;
type AnySelect = SelectType<{ readonly [k: string]: ObjectType<Fields> }, string, string>;
type AnyOneOf = OneOfType<Fields, { readonly [k: string]: Type<unknown> }>;

const INTRO = [
  'A scenario is a YAML file describing one simulation run. Units:',
  '',
  '- **time** (virtual): a number with `ns`, `us`, `ms` or `s` (`1.5ms`, `10us`, `200 ms`); the unit is required',
  '  (`duration: 200` is an error, not 200 ns), except for `0`. Decimals are fine as long as the result is a',
  '  whole number of nanoseconds; at most 2^53-1 ns.',
  '- **frequency**: `Hz`, `kHz`, `MHz` or `GHz` (`1GHz`); a bare number is Hz.',
  '- **size**: `KiB`, `MiB` or `GiB` (`4MiB`); a bare number is bytes.',
  '',
  'Unknown keys are errors (with a hint when the key belongs elsewhere: `vms[0].weight` → `sched.weight`). Every',
  'problem is reported, each with its path (`vms[2].vcpus`). A value that is valid but has no effect — a',
  '`vms[].sched` key that no policy able to run the VM reads, such as `cap` under round robin — is a warning.',
];

/** The markdown reference of every key of a scenario file. */
export function describeScenarioFormat(): string {
  const out: string[] = [...INTRO];
  new Describer(out).object(SCENARIO, '');
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

function isComposite(t: Type<unknown>): boolean {
  return t instanceof ObjectType || t instanceof SelectType || t instanceof OneOfType || (t instanceof ListType && isComposite(t.of));
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(s: string): string {
  return `\`${s}\``;
}

class Describer {
  /** Composite types already described, by the name of their section (so a shared one is referenced, not repeated). */
  private readonly seen = new Map<Type<unknown>, string>();
  constructor(private readonly out: string[]) {}

  private heading(name: string, extra = ''): void {
    this.out.push('', `### ${name === '' ? 'Top level' : code(name)}${extra}`, '');
  }

  private paragraph(text: string | undefined): void {
    if (text) this.out.push(text, '');
  }

  private rules(rules: readonly { doc: string }[]): void {
    if (rules.length === 0) return;
    this.out.push('', 'Checked:', '');
    for (const r of rules) this.out.push(`- ${r.doc}`);
  }

  /** The type column: scalars say what they are; composite values point at their own section. */
  private typeCell(t: Type<unknown>, name: string): string {
    const target = this.seen.get(t) ?? name;
    if (t instanceof ListType && isComposite(t.of)) return `list, see ${code(this.seen.get(t.of) ?? `${name}[]`)}`;
    if (isComposite(t)) return `mapping, see ${code(target)}`;
    return t.summary;
  }

  private defaultCell(f: Field<unknown>): string {
    if (f.required) return '**required**';
    if (!('raw' in f)) return f.absent ?? '';
    const raw = f.raw;
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 0) return 'see its keys';
    return code(typeof raw === 'string' ? raw : JSON.stringify(raw));
  }

  private table(fields: Fields, name: string): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    this.out.push('| Key | Type | Default | Meaning |', '|---|---|---|---|');
    for (const key of keys) {
      const f = fields[key]!;
      this.out.push(`| ${code(key)} | ${cell(this.typeCell(f.type, child(name, key)))} | ${cell(this.defaultCell(f))} | ${cell(f.doc)} |`);
    }
  }

  /** Sections for the composite fields of a table, after it. */
  private children(fields: Fields, name: string): void {
    for (const [key, f] of Object.entries(fields)) this.any(f.type, child(name, key));
  }

  private any(t: Type<unknown>, name: string): void {
    if (t instanceof ListType) return this.any(t.of, `${name}[]`);
    if (!isComposite(t) || this.seen.has(t)) return;
    if (t instanceof ObjectType) this.object(t as AnyObject, name);
    else if (t instanceof SelectType) this.select(t as AnySelect, name);
    else if (t instanceof OneOfType) this.oneOf(t as AnyOneOf, name);
  }

  object(t: AnyObject, name: string, extra = ''): void {
    this.seen.set(t, name);
    this.heading(name, extra);
    this.paragraph(t.doc);
    this.table(t.fields, name);
    this.rules(t.rules);
    this.children(t.fields, name);
  }

  private select(t: AnySelect, name: string): void {
    this.seen.set(t, name);
    this.heading(name);
    this.paragraph(t.doc);
    const S = t.selector.key;
    const P = t.params.key;
    this.out.push(
      '| Key | Type | Default | Meaning |',
      '|---|---|---|---|',
      `| ${code(S)} | ${cell(t.names.map(code).join(' | '))} | ${code(t.selector.default)} | ${cell(t.selector.doc)} |`,
      `| ${code(P)} | mapping | defaults of the ${S} | ${cell(t.params.doc)} |`,
    );
    const none: string[] = [];
    for (const n of t.names) {
      const v = t.variants[n] as AnyObject;
      if (Object.keys(v.fields).length === 0) none.push(code(n));
      else this.object(v, `${name}.${P}`, ` for ${code(`${S}: ${n}`)}`);
    }
    if (none.length) this.out.push('', `${none.join(', ')} take no ${P}.`);
  }

  private oneOf(t: AnyOneOf, name: string): void {
    this.seen.set(t, name);
    this.heading(name);
    this.paragraph(t.doc);
    this.table(t.common, name);
    this.out.push('', '| Action | Keys | Meaning |', '|---|---|---|');
    for (const n of t.names) {
      const v = t.variants[n] as Type<unknown>;
      const doc = [t.variantDocs[n] as string];
      let keys = '';
      const shared = this.seen.get(v);
      if (shared !== undefined) {
        keys = `those of ${code(shared)}`;
      } else if (v instanceof ObjectType) {
        const o = v as AnyObject;
        const entries = Object.entries(o.fields);
        const req = entries.filter(([, f]) => f.required).map(([k]) => code(k));
        const opt = entries.filter(([, f]) => !f.required).map(([k]) => code(k));
        keys = [req.join(', '), opt.length ? `any of ${opt.join(', ')}` : ''].filter(Boolean).join('; ');
        doc.push(...o.rules.map((r) => r.doc));
      }
      this.out.push(`| ${code(n)} | ${cell(keys)} | ${cell(doc.join('; '))} |`);
    }
  }
}

function child(name: string, key: string): string {
  return name === '' ? key : `${name}.${key}`;
}
