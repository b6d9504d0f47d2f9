import { describe, expect, it } from 'vitest';
import { featureMapGrid, ShapeError } from '@lite-cnn/sdk';

describe('featureMapGrid', () => {
  it('lays channels out in a near-square grid, each min-max normalized, with gaps and enlargement', () => {
    // 2x2 maps, 3 channels (NHWC): channel 0 = 0..3, channel 1 constant, channel 2 = 10, 20, 30, 40.
    const maps = new Float32Array([0, 5, 10, 1, 5, 20, 2, 5, 30, 3, 5, 40]);
    const g = featureMapGrid(maps, [2, 2, 3], { scale: 2, gap: 1, separator: [1, 2, 3, 255], empty: [9, 9, 9, 255] });
    expect([g.rows, g.cols, g.width, g.height]).toEqual([2, 2, 9, 9]);
    const px = (x: number, y: number) => Array.from(g.rgba.subarray((y * g.width + x) * 4, (y * g.width + x) * 4 + 4));
    expect(px(0, 0)).toEqual([0, 0, 0, 255]); // channel 0, value 0 → black
    expect(px(3, 3)).toEqual([255, 255, 255, 255]); // channel 0, value 3 → white (enlarged cell (1,1))
    expect(px(2, 0)).toEqual([85, 85, 85, 255]); // channel 0, value 1 of 0..3, cell (0,1) enlarged
    expect(px(4, 0)).toEqual([1, 2, 3, 255]); // separator column
    expect(px(5, 0)).toEqual([0, 0, 0, 255]); // channel 1 is constant → lowest colour
    expect(px(8, 8)).toEqual([9, 9, 9, 255]); // cell after the last channel
    expect(px(0, 5)).toEqual([0, 0, 0, 255]); // channel 2, value 10 → black
  });

  it('colours with a heatmap colormap and rejects a wrong size', () => {
    const g = featureMapGrid(new Float32Array([0, 1]), [1, 2, 1], { colormap: 'viridis', gap: 0 });
    expect(g.width).toBe(2);
    expect(Array.from(g.rgba.subarray(0, 4))).not.toEqual(Array.from(g.rgba.subarray(4, 8)));
    expect(() => featureMapGrid(new Float32Array(3), [1, 2, 2])).toThrow(ShapeError);
  });
});
