// @vsim/report: seeing a run (architecture §14). From a run's results and event log: the
// self-contained HTML report (pCPU Gantt, share over time against entitlement, runstates, wake-up
// latency CDF, deadline misses, exits by cause and route, techniques against native), the Chrome
// Trace Event file Perfetto opens, and Xen's binary trace records that xenalyze reads.

export { parseEventLines, checkResults, ReportInputError } from './inputs';
export { segmentsOf, checkSums } from './segments';
export type { Segment, SumCheck } from './segments';
export { buildReportData } from './model';
export type { ReportData } from './model';
export { echartsScript, renderHtml, scriptSafe, writeHtml } from './html';
export { chromeTrace, writeChromeTrace } from './chrome-trace';
export type { ChromeTrace, TraceEvent } from './chrome-trace';
export { xentrace, domainIds } from './xentrace/writer';
export { decodeXentrace, XentraceFormatError } from './xentrace/decode';
export * as xenRecords from './xentrace/records';
export type { XenRecord } from './xentrace/records';
export { writeOutputs, writeTo, xentraceFileFor } from './outputs';
export type { OutputFiles } from './outputs';
