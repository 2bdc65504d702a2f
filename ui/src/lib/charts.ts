// The words and theme of the engine's charts: every chart the app shows is drawn by the
// engine (plotters) in the user's language and theme, with the words from here, so that
// every translation lives in i18n.svelte.ts.
import type { ChartStyle } from './backend';
import { t } from './i18n.svelte';

/** The training methods a learning curve may name (the engine's `Mode`). */
const METHODS = ['head', 'fewshot', 'lora', 'full'] as const;

/** The chart style for the current language, dark or light. */
export function chartStyle(dark: boolean): ChartStyle {
  return {
    dark,
    text: {
      loss: t('chart.loss'),
      step: t('chart.step'),
      crossEntropy: t('chart.crossEntropy'),
      trainingLossStep: t('chart.trainingLossStep'),
      trainingLossSmoothed: t('chart.trainingLossSmoothed'),
      validationLoss: t('chart.validationLoss'),
      validation: t('chart.validation'),
      epoch: t('chart.epoch'),
      accuracy: t('chart.accuracy'),
      macroF1: t('chart.macroF1'),
      reliability: t('chart.reliability'),
      confidence: t('chart.confidence'),
      shareRight: t('chart.shareRight'),
      curve: t('chart.curve'),
      labelsPerClass: t('chart.labelsPerClass'),
      testAccuracy: t('chart.testAccuracy'),
      methods: METHODS.map((m) => [m, t(`chart.method.${m}`)] as [string, string]),
    },
  };
}
