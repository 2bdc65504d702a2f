// The engine's errors in the user's language. Every error carries a stable code and its
// parameters (src-tauri's AppError); English is the engine's own sentence, Chinese comes
// from the templates below, filled with the parameters. A shell test checks that every
// code the engine has a template here.
import type { Locale } from './i18n.svelte';

/** Chinese sentences by error code; {name} is filled from the error's parameters. */
export const zhErrors: Record<string, string> = {
  io: '无法{op} {path}：{reason}',
  emptyData: '{path} 是空的：没有数据行。请选择每行一条文本的文件。',
  missingColumn: '{path} 中没有名为“{column}”的列（已有：{found}）。请指定{role}所在的列。',
  badRow: '{path} 第 {line} 行：{reason}',
  unknownFormat: '{path}：无法从扩展名“{ext}”判断格式；请使用 .csv、.tsv、.json、.jsonl、.txt 或 .xlsx。',
  singleClass: '数据只有一个标签（{label}）；分类器至少需要两个标签的样本。',
  tooFewExamples: '标注的文本太少，无法训练：{what}',
  unknownModel: '未知的模型“{id}”：它不在模型目录（{known}）中，也没有下载，也不是文件夹。',
  unsupportedModel: '{path} 不是可以加载的模型：{found}。支持 BERT、DistilBERT、XLM-RoBERTa 的 Hugging Face 文件夹。',
  tokenizerMismatch: '{path} 中的分词器与模型不匹配：{reason}。请使用与模型一同发布的分词器。',
  tokenizer: '分词器出错：{message}',
  download: '无法下载 {what}：{reason}',
  checksum: '{file} 的 sha256 为 {actual}，应为 {expected}：下载的文件已损坏或被篡改，未被使用。',
  diverged: '损失在第 {step} 步发散（变为 {value}）；请尝试更低的学习率（例如 {suggestion}）。',
  cancelled: '已取消。',
  invalidSetting: '设置无效：{message}',
  device: '设备不可用：{message}',
  outOfMemory: '{device}在批大小 {batchSize}、最大长度 {maxLen} 下训练时内存不足；你的标注和之前的训练都没有变化。请把批大小改为 {smallerBatch} 或把最大长度改为 {smallerLen} 后重新训练，或关闭其他占用{device}的程序。',
  notText: '{path} 看起来不是文本文件：{reason}。如果是表格，请另存为 .xlsx 或 .csv。',
  headerOnly: '{path} 只有表头（{columns}），没有数据行；请至少添加一行数据。',
  badFile: '{path}：{reason}',
  notAProject: '{path} 不是 Sentiment Studio 项目（{reason}）；请新建项目或选择正确的文件。',
  projectTooNew: '{path} 由更新版本的 Sentiment Studio 写入（项目格式 {found}，本版本最多支持 {supported}）；请更新后再打开。',
  unknownText: '项目中没有编号为“{id}”的文本；{hint}',
  unknownLabel: '“{label}”不是项目的标签之一（{known}）；请使用这些标签之一，或修改标签集。',
  labelNotInModel: '{path}：标签“{label}”不是模型认识的标签（{known}）；请用模型的标签标注的数据来评估。',
  unknownRun: '这个项目中没有第 {run} 次训练。',
  runHasNoModel: '第 {run} 次训练没有模型（{status}）；请重新训练。',
  noRuns: '这个项目还没有训练好的模型；请先在“训练”页训练一个。',
  noTestTexts: '还没有留作测试的已标注文本；请多标注一些文本（大约十分之一会进入测试集）。',
  database: '项目数据库出错：{reason}。如果其他程序打开了这个项目，请关闭后重试；如果磁盘已满，请释放空间。',
  tensor: '计算出错（可能是内存不足）：{reason}',
  json: '{path}：JSON 无效：{reason}',
  noProject: '没有打开的项目；请在“开始”页新建或打开一个项目。',
  input: '{message}',
  runtime: '{message}',
};

/** Words for the I/O operation names the engine sends in `op`. */
const zhOps: Record<string, string> = {
  read: '读取',
  write: '写入',
  open: '打开',
  move: '移动',
  copy: '复制',
  list: '列出',
  remove: '删除',
  'create the folder': '创建文件夹',
  'copy the model to': '复制模型到',
};

/** The error's sentence in `locale`: the engine's English, or the Chinese template. */
export function errorText(
  locale: Locale,
  code: string | undefined,
  params: Partial<Record<string, string>> | undefined,
  message: string,
): string {
  if (locale !== 'zh' || code == null) return message;
  const template = zhErrors[code];
  if (!template) return message;
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(params ?? {})) if (v != null) vars[k] = v;
  if (vars.op) vars.op = zhOps[vars.op] ?? vars.op;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => vars[name] ?? m);
}
