export interface TaskRequest {
  id: number;
  task: string;
  input: unknown;
}

export type TaskResponse =
  | {id: number; ok: true; result: unknown}
  | {id: number; ok: false; error: {name: string; message: string; stack?: string}};
